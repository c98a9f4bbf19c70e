import pytest

from cifar_edu import mode
from cifar_edu.errors import CifarEduError


def test_default_is_full(monkeypatch):
    monkeypatch.delenv(mode.MODE_ENV, raising=False)
    assert mode.current_mode() == "full" and mode.data_source() == "full"
    assert mode.pick(quick=1, full=30) == 30


def test_quick(monkeypatch):
    monkeypatch.setenv(mode.MODE_ENV, "Quick")
    assert mode.is_quick() and mode.data_source() == "sample"
    assert mode.pick(quick=1, full=30) == 1


def test_unknown_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(mode.MODE_ENV, "fast")
    with pytest.raises(CifarEduError, match="quick' or 'full"):
        mode.current_mode()
