"""The digest flow: wires build -> file + markdown artifact (library logic is in test_digest)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.digest import build, digest
from monitor.storage.warehouse import connect, refresh_rollups
from warehouse_helpers import add_tag


def make_warehouse(path: Path) -> None:
    con = connect(path)
    at = datetime(2026, 11, 4, 8, tzinfo=UTC)
    con.execute(
        "INSERT INTO articles (id, source, url, title, published_at, date_confidence, fetched_at, relevant) "
        "VALUES ('a1', 'wire', 'https://wire.example/a1', 'Gas deal <b>signed</b> in Belgrade', ?, 'high', ?, true)",
        [at, at],
    )
    add_tag(con, "a1", "theme:energy", 1, "gas deal", "1")
    refresh_rollups(con)
    con.close()


def test_build_task_reads_the_week_from_a_warehouse_file(db_path: Path) -> None:
    make_warehouse(db_path)
    d = build.fn(str(db_path), "2026-W45")
    assert (d.week, d.stories, d.top_stories[0].title) == ("2026-W45", 1, "Gas deal <b>signed</b> in Belgrade")


@pytest.mark.slow
def test_digest_flow_writes_the_file_and_publishes_a_markdown_artifact(
    prefect_harness: None, db_path: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    make_warehouse(db_path)
    out = tmp_path / "out"
    path = Path(digest(week="2026-W45", db_path=str(db_path), out_dir=str(out), fmt="md"))
    assert path == out / "digest-2026-W45.md"
    text = path.read_text(encoding="utf-8")
    assert r"[Gas deal \<b\>signed\</b\> in Belgrade](https://wire.example/a1)" in text
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["weekly-digest"])), limit=1
        )
    assert artifact.type == "markdown"
    assert artifact.data == text
