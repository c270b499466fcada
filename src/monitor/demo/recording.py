"""Record HTTP exchanges to files and replay them in tests: our one wrapper around `responses`.

The recorder and the file loader of ``responses`` are private names
(``responses._recorder``, ``RequestsMock._add_from_file``), so nothing else in
the project touches them: if they move in a later release, only this module
changes. A fixture file is responses' YAML format::

    responses:
    - response:
        method: GET
        url: http://balkanwatch.example/feed.xml
        status: 200
        body: "<?xml ..."            # decoded text: keep fixtures UTF-8
        content_type: application/rss+xml; charset=utf-8
        headers: {ETag: '"..."', Last-Modified: ...}
        auto_calculate_content_length: false

``responses`` is a dev dependency (``pip install -e '.[dev]'``): only tests and
maintainers import this module, never the pipeline. Recording fetches live URLs:
it is a maintainer tool (``python -m monitor.demo.recording``),
never run by tests against the network. Tests record only from the loopback corpus
server and replay with :func:`replay`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import responses
import yaml
from responses._recorder import Recorder

from monitor.demo.corpus_server import CORPUS_DIR, CorpusServer, corpus_etag, load_manifest
from monitor.exceptions import ConfigError, ConnectionFailedError
from monitor.settings import USER_AGENT

__all__ = [
    "FIXTURE_HOST_SUFFIX",
    "RecordedResponse",
    "corpus_fixture_plan",
    "corpus_host_map",
    "main",
    "read_fixture",
    "record_corpus_fixtures",
    "record_urls",
    "replay",
    "rewrite_fixture",
]

#: Fixture hosts end in ``.example`` (RFC 2606): they never resolve, so a replayed
#: test that escapes the mock fails loudly instead of reaching a real site.
FIXTURE_HOST_SUFFIX = ".example"
#: Where loopback paths that belong to no outlet go in fixtures.
FIXTURE_FALLBACK_HOST = "http://corpus.example"
#: Seconds per recorded request; the corpus server answers in milliseconds.
RECORD_TIMEOUT = 20.0


#: libyaml's loader when present: the pure-Python one spends ~0.1 s per 100 KB fixture.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RecordedResponse:
    """One response stored in a fixture file."""

    method: str
    url: str
    status: int
    body: str
    content_type: str | None
    headers: Mapping[str, str]


def record_urls(
    urls: Iterable[str],
    out_path: Path,
    *,
    session: requests.Session | None = None,
    timeout: float = RECORD_TIMEOUT,
    user_agent: str = USER_AGENT,
) -> list[RecordedResponse]:
    """GET each URL (following redirects, every hop recorded) and write the exchanges to ``out_path``."""
    http = session or requests.Session()
    recorder = Recorder()  # a fresh one: responses' module-level recorder is shared state
    with recorder:
        for url in urls:
            try:
                http.get(url, timeout=timeout, headers={"User-Agent": user_agent})
            except requests.RequestException as exc:
                raise ConnectionFailedError(f"cannot record {url}: {exc}") from exc
        out_path.parent.mkdir(parents=True, exist_ok=True)
        recorder.dump_to_file(out_path, registered=recorder.get_registry().registered)
    return read_fixture(out_path)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read fixture {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("responses"), list):
        raise ConfigError(f"{path}: not a responses fixture (no top-level 'responses' list)")
    return data


def read_fixture(path: Path) -> list[RecordedResponse]:
    """The responses stored in a fixture file, in order."""
    out = []
    for row in _load(path)["responses"]:
        r = row["response"]
        out.append(
            RecordedResponse(
                method=r["method"],
                url=r["url"],
                status=int(r["status"]),
                body=r.get("body", ""),
                content_type=r.get("content_type"),
                headers=dict(r.get("headers") or {}),
            )
        )
    return out


class _FixtureDumper(yaml.SafeDumper):
    """Writes multi-line bodies as literal blocks, so fixture diffs read like the pages."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FixtureDumper.add_representer(str, _represent_str)


def _replace_prefixes(text: str, mapping: Sequence[tuple[str, str]]) -> str:
    for old, new in mapping:
        text = text.replace(old, new)
    return text


def rewrite_fixture(
    in_path: Path, out_path: Path, mapping: Mapping[str, str], *, recompute_etags: bool = False
) -> None:
    """Replace URL prefixes (longest first) in URLs, bodies and Location headers of a fixture.

    With ``recompute_etags`` the ETag of each rewritten body is recomputed the way the
    corpus server computes it, so the fixture does not depend on the recording port.
    """
    ordered = sorted(mapping.items(), key=lambda kv: len(kv[0]), reverse=True)
    data = _load(in_path)
    for row in data["responses"]:
        r = row["response"]
        r["url"] = _replace_prefixes(r["url"], ordered)
        if isinstance(r.get("body"), str):
            r["body"] = _replace_prefixes(r["body"], ordered)
        headers = r.get("headers") or {}
        for name in list(headers):
            if name.lower() == "location":
                headers[name] = _replace_prefixes(headers[name], ordered)
            elif name.lower() == "etag" and recompute_etags:
                headers[name] = corpus_etag(r.get("body", "").encode("utf-8"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(data, Dumper=_FixtureDumper, sort_keys=True, allow_unicode=True, width=100_000)
    out_path.write_text(text, encoding="utf-8")


@contextmanager
def replay(*paths: Path, assert_all_fired: bool = False) -> Iterator[responses.RequestsMock]:
    """Patch ``requests`` to answer from the fixture files; unknown URLs raise ConnectionError."""
    mock = responses.RequestsMock(assert_all_requests_are_fired=assert_all_fired)
    for path in paths:
        _load(path)  # a clear ConfigError for a missing or foreign file
        mock._add_from_file(file_path=path)
    with mock:
        yield mock


def corpus_host_map(base_url: str, source_names: Iterable[str]) -> dict[str, str]:
    """``{base}/<source>`` -> ``http://<source>.example`` for each outlet, and ``{base}`` -> a fallback host."""
    base = base_url.rstrip("/")
    mapping = {f"{base}/{name}": f"http://{name}{FIXTURE_HOST_SUFFIX}" for name in source_names}
    mapping[base] = FIXTURE_FALLBACK_HOST
    return mapping


def corpus_fixture_plan(root: Path = CORPUS_DIR) -> dict[str, list[str]]:
    """Which corpus paths each committed fixture file records (file name -> paths, in order)."""
    m = load_manifest(root)

    def pages(source: str) -> list[str]:
        linked = [a.feed_link or a.path for a in m.articles if a.source == source]
        linked += [n.path for n in m.not_found if n.source == source and n.in_feed]
        return sorted(linked)

    return {
        # Full outlets: a feed and every page it links to (the 404 and the 301 included).
        "balkanwatch_rss.yaml": ["balkanwatch/robots.txt", m.source("balkanwatch").feed, *pages("balkanwatch")],
        "adriaticmonitor_atom.yaml": [
            "adriaticmonitor/robots.txt",
            m.source("adriaticmonitor").feed,
            *pages("adriaticmonitor"),
        ],
        # Feed-only: the RDF and content:encoded formats, a truncated feed, a 500.
        "dunavinfo_rdf.yaml": ["dunavinfo/robots.txt", m.source("dunavinfo").feed],
        "slavicherald_content.yaml": ["slavicherald/robots.txt", m.source("slavicherald").feed],
        "skopjepost_malformed.yaml": ["skopjepost/robots.txt", m.source("skopjepost").feed],
        "tiranareview_500.yaml": ["tiranareview/robots.txt", m.source("tiranareview").feed],
    }


def record_corpus_fixtures(out_dir: Path, root: Path = CORPUS_DIR) -> list[Path]:
    """Re-record the committed fixtures from the loopback corpus server, hosts rewritten to ``*.example``."""
    written = []
    with CorpusServer(root) as server:
        mapping = corpus_host_map(server.base_url, [s.name for s in server.manifest.sources])
        for name, paths in corpus_fixture_plan(root).items():
            target = out_dir / name
            raw = target.with_suffix(".raw.yaml")
            record_urls([f"{server.base_url}/{p}" for p in paths], raw)
            rewrite_fixture(raw, target, mapping, recompute_etags=True)
            raw.unlink()
            written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m monitor.demo.recording``: record URLs to a fixture, or re-record the corpus fixtures."""
    parser = argparse.ArgumentParser(prog="python -m monitor.demo.recording", description=main.__doc__)
    parser.add_argument("urls", nargs="*", help="URLs to GET and record (redirect hops included)")
    parser.add_argument("-o", "--out", type=Path, help="fixture file to write (YAML)")
    parser.add_argument(
        "--rewrite",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="replace a URL prefix in the written fixture (repeatable)",
    )
    parser.add_argument(
        "--corpus-fixtures",
        type=Path,
        metavar="DIR",
        help="re-record the committed corpus fixtures into DIR (e.g. tests/fixtures)",
    )
    args = parser.parse_args(argv)
    if args.corpus_fixtures:
        for path in record_corpus_fixtures(args.corpus_fixtures):
            print(f"wrote {path}")
        return 0
    if not args.urls or args.out is None:
        parser.error("give URLs and -o FILE, or --corpus-fixtures DIR")
    mapping = {}
    for pair in args.rewrite:
        old, sep, new = pair.partition("=")
        if not sep:
            parser.error(f"--rewrite expects OLD=NEW, got {pair!r}")
        mapping[old] = new
    recorded = record_urls(args.urls, args.out)
    if mapping:
        rewrite_fixture(args.out, args.out, mapping)
    print(f"recorded {len(recorded)} responses to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
