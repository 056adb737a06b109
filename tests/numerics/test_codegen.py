"""Kernel freshness: `aniso build --check` passes on the committed tree and names stale kernels."""
from __future__ import annotations

import shutil
import subprocess
import sys

from numerics import codegen


def test_committed_kernels_are_fresh():
    assert codegen.check() == []


def _copy_kernels(tmp_path, monkeypatch):
    target = tmp_path / "numerics" / "kernels"
    shutil.copytree(codegen.KERNEL_DIR, target)
    monkeypatch.setattr(codegen, "KERNEL_DIR", target)
    return target


def test_check_names_a_tampered_kernel(tmp_path, monkeypatch):
    target = _copy_kernels(tmp_path, monkeypatch)
    path = target / "diffusion.py"
    src = path.read_text()
    tampered = src.replace("_x4 = (1/3)*v**2", "_x4 = (1/3.0001)*v**2")
    assert tampered != src
    path.write_text(tampered)
    stale = codegen.check()
    assert [(s.path.name, s.kernel) for s in stale] == [("diffusion.py", "bgk_tensor")]
    assert "stale kernel" in str(stale[0]) and "bgk_tensor" in str(stale[0])


def test_check_names_a_changed_expression(tmp_path, monkeypatch):
    target = _copy_kernels(tmp_path, monkeypatch)
    path = target / "observation.py"
    src = path.read_text()
    marker = "srepr-sha256: "
    i = src.index(marker, src.index("def noise_uniform")) + len(marker)
    path.write_text(src[:i] + "0" * 64 + src[i + 64:])
    stale = codegen.check()
    assert [s.kernel for s in stale] == ["noise_uniform"]
    assert "expression changed" in stale[0].reason


def test_check_reports_missing_module(tmp_path, monkeypatch):
    target = _copy_kernels(tmp_path, monkeypatch)
    (target / "compton_getting.py").unlink()
    stale = codegen.check()
    assert any(s.path.name == "compton_getting.py" and "missing" in s.reason for s in stale)


def test_importing_numerics_does_not_import_sympy():
    code = "import sys, numerics; numerics.diffusion.bgk_tensor(1.0, 1.0, [0, 0, 1]); " \
           "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'theory')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
