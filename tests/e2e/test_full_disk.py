"""A full disk at EVERY write point of a tiny run (about 30): nothing stored is lost, no partial file is left,
and the same command resumes to the same tables (the fast tier covers one write per file type)."""

from __future__ import annotations

from tests.integration.test_run_safety import check_full_disk, task_file, tiny_dir  # noqa: F401 (fixtures)


def test_a_full_disk_at_every_write_point_loses_nothing_and_resumes(tiny_dir, task_file, tmp_path,  # noqa: F811
                                                                    monkeypatch, capsys):
    points = check_full_disk(tiny_dir, task_file, tmp_path, monkeypatch, capsys, every_point=True)
    assert len(points) >= 25, points
