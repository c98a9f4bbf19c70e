"""Cut the shipped sample (cifar_edu/assets/cifar10_sample.npz) from a CIFAR-10 folder.

Usage: python tools/make_sample.py ../shared/data/cifar-10-batches-py

Only the byte-exact rows 0-1016 of each batch are used; see cifar_edu/data/sample.py.
"""

import sys

from cifar_edu.data.sample import build_sample

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(f"wrote {build_sample(sys.argv[1])}")
