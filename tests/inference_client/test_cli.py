"""The command line: ask questions of source files."""

from __future__ import annotations

import json

from inference_client.cli import main


def test_ask_prints_the_answer_citations_and_attribution(tmp_path, capsys, monkeypatch):
    for name in ("INFERENCE_BACKEND", "INFERENCE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    paris = tmp_path / "paris.md"
    paris.write_text("# Paris\n\nParis is the capital of France. It is large.\n", encoding="utf-8")
    bananas = tmp_path / "bananas.txt"
    bananas.write_text("Bananas are rich in potassium.\n", encoding="utf-8")

    status = main(
        ["ask", "What is the capital of France?", "--source", str(paris), "--source", str(bananas)]
    )

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[:8] == [
        "Paris is the capital of France [1].",
        "",
        "Citations:",
        "  [1] Paris: Paris is the capital of France.",
        "Attribution:",
        f"  100.00%  {paris}",
        f"    0.00%  {bananas}",
        "    0.00%  (unattributed)",
    ]
    assert lines[8].startswith("Served by extractive, model extractive-v2, ")


def test_ask_json_against_a_server_falls_back_when_it_is_down(tmp_path, capsys, refused_url):
    paris = tmp_path / "paris.txt"
    paris.write_text("Paris is the capital of France.", encoding="utf-8")

    status = main(["--base-url", refused_url, "ask", "Capital of France?", "--source", str(paris)])
    assert status == 0
    assert "fallback: connection_error" in capsys.readouterr().out

    main(["--backend", "extractive", "ask", "Capital of France?", "--source", str(paris), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["text"] == "Paris is the capital of France [1]."
    assert data["attribution"]["sources"][0]["weight_ppm"] == 1_000_000


def test_health_reports_a_server_that_is_down(capsys, refused_url):
    status = main(["--base-url", refused_url, "health"])

    assert status == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False


def test_a_missing_source_file_is_a_clear_error(tmp_path, capsys):
    status = main(["ask", "Why?", "--source", str(tmp_path / "missing.txt")])

    assert status == 2
    assert "No such file or directory" in capsys.readouterr().err
