"""The `tinyweb` command as a user runs it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tinyweb.cli import main
from tinyweb.store import Store

COMMANDS = ["capture", "crawl", "export", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage: main" in result.output or f"{command} [OPTIONS]" in result.output
    assert "--help" in result.output


def test_capture_then_export(fixture_site, tmp_path):
    runner = CliRunner()
    data = tmp_path / "data"
    out = tmp_path / "snap.json"
    url = fixture_site.url + "basics.html"
    result = runner.invoke(main, ["capture", url, "-o", str(out), "--data", str(data), "--block-external"])
    assert result.exit_code == 0, result.output
    assert "captured" in result.output
    record = json.loads(out.read_text())
    assert record["url"] == url and record["source"] == "cli" and len(record["id"]) == 32
    again = runner.invoke(main, ["capture", url, "--data", str(data), "--block-external"])
    assert "already stored" in again.output
    exported = tmp_path / "all.jsonl"
    result = runner.invoke(main, ["export", "--data", str(data), "-o", str(exported)])
    assert result.exit_code == 0
    lines = exported.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [record["id"]]


def test_capture_failure_is_a_clean_message_and_recorded(fixture_site, tmp_path):
    result = CliRunner().invoke(main, ["capture", fixture_site.url + "nope.html", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "error: the server answered HTTP 404" in result.output
    assert "Traceback" not in result.output
    with Store(tmp_path) as store:
        assert [f.reason for f in store.failures()] == ["http_404"]


def test_missing_chromium_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYWEB_CHROMIUM", str(tmp_path / "no-such-chromium"))
    result = CliRunner().invoke(main, ["capture", "http://127.0.0.1:1/", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not an executable file" in result.output


def test_bad_viewport_is_a_usage_error():
    result = CliRunner().invoke(main, ["capture", "http://x/", "--viewport", "wide"])
    assert result.exit_code == 2
    assert "viewport must look like 1280x800" in result.output


def test_crawl_with_bad_seed_lines(fixture_site, tmp_path):
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"{fixture_site.url}crawl/b.html\nnot-a-url\n")
    data = tmp_path / "data"
    result = CliRunner().invoke(
        main, ["crawl", "--seeds-file", str(seeds), "--data", str(data), "--max-depth", "0", "--delay", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "not-a-url" in result.output and "captured" in result.output
    with Store(data) as store:
        assert store.count() == 1
        assert [f.reason for f in store.failures()] == ["bad_seed"]


def test_crawl_without_seeds_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["crawl", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "no valid seed URLs" in result.output


def test_demo_crawls_the_example_site(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    result = CliRunner().invoke(main, ["demo", "--data", str(data), "--out", str(out), "--no-train"])
    assert result.exit_code == 0, result.output
    assert (out / "final-dataset.json").is_file() and "generated" not in result.output
    with Store(data) as store:
        titles = {s.title for s in store.iter_snapshots()}
    assert len(titles) >= 11
    assert any("Crumb" in t for t in titles) and any("quillctl" in t for t in titles)
    assert "snapshots in" in result.output
