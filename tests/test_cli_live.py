"""`webqa ask` on the (loopback) live web: a SearXNG-shaped engine and a site, end to end."""

import json

from webserver import page, send, serve

from webqa.cli import main

NEPTUNE = (
    "<html><head><title>Neptune</title></head><body><main><h1>Neptune</h1>"
    "<p>Neptune was discovered in 1846 by Johann Galle.</p></main></body></html>"
)


def routes(base):
    def search(h):
        results = [
            {"title": "Neptune", "url": base + "/neptune", "content": "The eighth planet."},
            {"title": "A thread", "url": "https://www.reddit.com/r/space/1", "content": "x"},
            {"title": "Gone", "url": base + "/gone", "content": "missing"},
        ]
        send(h, 200, json.dumps({"results": results}).encode(), "application/json")

    return {"/search": search, "/neptune": page(NEPTUNE)}


def run(tmp_path, capsys, *extra):
    holder = {}
    with serve(
        {
            "/search": lambda h: holder["routes"]["/search"](h),
            "/neptune": lambda h: holder["routes"]["/neptune"](h),
        }
    ) as site:
        holder["routes"] = routes(site.url("").rstrip("/"))
        code = main(
            [
                "ask",
                "Who discovered Neptune?",
                "--engine",
                "searxng",
                "--searxng-url",
                site.url(""),
                "--policy",
                "extractive",
                "--json",
                "--quiet",
                "--trace",
                str(tmp_path / "t.jsonl"),
                *extra,
            ]
        )
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_private_addresses_refused_by_default_and_said_why(tmp_path, capsys):
    code, answer, err = run(tmp_path, capsys)
    assert code == 1 and answer["status"] == "no_quotes"
    assert "could not be opened" in answer["error"] and "--allow-private" in answer["error"]


def test_opt_in_browses_and_blocks_reddit(tmp_path, capsys):
    code, answer, _ = run(tmp_path, capsys, "--allow-private")
    assert code == 0 and "Johann Galle" in answer["text"]
    assert answer["citations"][0]["url"].endswith("/neptune")
    results = [
        json.loads(x)
        for x in (tmp_path / "t.jsonl").read_text().splitlines()
        if '"type": "page"' in x and '"search:' in x
    ][0]
    urls = [link["url"] for link in results["links"].values()]
    assert not any("reddit.com" in u for u in urls) and len(urls) == 2
