"""Golden renders of real page shapes (issue 9): docs, an encyclopedia article, an index."""

# ruff: noqa: E501  (the fixtures are real pages' markup, one element a line)

import time

from webqa.render import render_html
from webqa.textmatch import PageMatcher

SPHINX = """<!DOCTYPE html><html><head><title>json — JSON encoder and decoder &#8212; Python 3.12 documentation</title></head>
<body>
<div class="related" role="navigation" aria-label="Related"><h3>Navigation</h3><ul>
<li class="right"><a href="genindex.html" title="General Index">index</a></li>
<li class="right"><a href="marshal.html" title="marshal">next</a> |</li>
<li class="right"><a href="email.html" title="email">previous</a> |</li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" role="main">
<section id="module-json"><h1>json — JSON encoder and decoder<a class="headerlink" href="#module-json" title="Link to this heading">¶</a></h1>
<p><strong>Source code:</strong> <a class="reference external" href="https://github.com/python/cpython/tree/3.12/Lib/json/__init__.py">Lib/json/__init__.py</a></p>
<p>Encoding basic Python object hierarchies:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">json</span>
<span class="gp">&gt;&gt;&gt; </span><span class="n">json</span><span class="o">.</span><span class="n">dumps</span><span class="p">([</span><span class="s1">'foo'</span><span class="p">,</span> <span class="p">{</span><span class="s1">'bar'</span><span class="p">:</span> <span class="p">(</span><span class="s1">'baz'</span><span class="p">,</span> <span class="kc">None</span><span class="p">)}])</span>
<span class="go">'["foo", {"bar": ["baz", null]}]'</span>
</pre></div></div>
<section id="basic-usage"><h2>Basic Usage<a class="headerlink" href="#basic-usage">¶</a></h2>
<dl class="py function">
<dt class="sig sig-object py" id="json.dump">
<span class="sig-prename descclassname"><span class="pre">json.</span></span><span class="sig-name descname"><span class="pre">dump</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span class="pre">obj</span></span></em>, <em class="sig-param"><span class="n"><span class="pre">fp</span></span></em><span class="sig-paren">)</span><a class="headerlink" href="#json.dump" title="Link to this definition">¶</a></dt>
<dd><p>Serialize <em>obj</em> as a JSON formatted stream to <em>fp</em> (a <code class="docutils literal notranslate"><span class="pre">.write()</span></code>-supporting <a class="reference internal" href="../glossary.html#term-file-like-object"><span class="xref std std-term">file-like object</span></a>) using this <a class="reference internal" href="#py-to-json-table"><span class="std std-ref">conversion table</span></a>.</p>
</dd></dl>
</section></section>
<div class="clearer"></div></div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="Main"><h4>Previous topic</h4><p><a href="email.html">email</a></p></div>
</div>
<div class="related" role="navigation" aria-label="Related"><ul><li><a href="marshal.html">next</a></li><li><a href="email.html">previous</a></li></ul></div>
<div class="footer">&#169; Copyright 2001-2024, Python Software Foundation.</div>
</body></html>"""

DOCBOOK = """<!DOCTYPE html><html><head><title>20.12. Lock Management</title></head><body id="docContent">
<div class="navheader"><table width="100%" summary="Navigation header"><tr><th colspan="5" align="center">20.12. Lock Management</th></tr>
<tr><td width="10%" align="left"><a accesskey="p" href="runtime-config-client.html" title="20.11. Client Connection Defaults">Prev</a> </td><td width="10%" align="left"><a accesskey="u" href="runtime-config.html" title="Chapter 20. Server Configuration">Up</a></td><th width="60%" align="center">Chapter 20. Server Configuration</th><td width="10%" align="right"><a accesskey="h" href="index.html" title="PostgreSQL 16.2 Documentation">Home</a></td><td width="10%" align="right"> <a accesskey="n" href="runtime-config-compatible.html" title="20.13. Version and Platform Compatibility">Next</a></td></tr></table><hr /></div>
<div class="sect1" id="RUNTIME-CONFIG-LOCKS"><div class="titlepage"><div><div><h2 class="title" style="clear: both">20.12. Lock Management <a href="#RUNTIME-CONFIG-LOCKS" class="id_link">#</a></h2></div></div></div>
<div class="toc"><dl class="toc"><dt><span><a href="#GUC-DEADLOCK-TIMEOUT">deadlock_timeout</a></span></dt><dt><span><a href="#GUC-MAX-LOCKS-PER-TRANSACTION">max_locks_per_transaction</a></span></dt></dl></div>
<div class="variablelist"><dl class="variablelist">
<dt id="GUC-DEADLOCK-TIMEOUT"><span class="term"><code class="varname">deadlock_timeout</code> (<code class="type">integer</code>)
      <a id="id-1.6.7.15.2.1.1.3" class="indexterm"></a>
    </span> <a href="#GUC-DEADLOCK-TIMEOUT" class="id_link">#</a></dt>
<dd><p>This is the amount of time to wait on a lock before checking to see if there is a deadlock condition. The default is one second (<code class="literal">1s</code>).</p>
<pre class="programlisting">SET deadlock_timeout = '2s';
SHOW deadlock_timeout;</pre></dd>
<dt id="GUC-MAX-LOCKS-PER-TRANSACTION"><span class="term"><code class="varname">max_locks_per_transaction</code> (<code class="type">integer</code>)</span></dt>
<dd><p>The shared lock table has space for <code class="varname">max_locks_per_transaction</code> objects. The default is 64. See <a class="xref" href="runtime-config-locks.html#GUC-DEADLOCK-TIMEOUT">deadlock_timeout</a>.</p></dd>
</dl></div></div>
<div class="navfooter"><hr /><table width="100%" summary="Navigation footer"><tr><td width="40%" align="left"><a accesskey="p" href="runtime-config-client.html">Prev</a> </td><td width="20%" align="center"><a accesskey="u" href="runtime-config.html">Up</a></td><td width="40%" align="right"> <a accesskey="n" href="runtime-config-compatible.html">Next</a></td></tr></table></div>
</body></html>"""

WIKIPEDIA = """<!DOCTYPE html><html><head><title>Ray Charles - Wikipedia</title></head><body>
<div id="mw-content-text" class="mw-body-content"><div class="mw-parser-output">
<div role="note" class="hatnote navigation-not-searchable">For the album, see Ray Charles (album).</div>
<table class="infobox biography vcard"><tbody>
<tr><th colspan="2" class="infobox-above"><div class="fn">Ray Charles</div></th></tr>
<tr><th scope="row" class="infobox-label">Born</th><td class="infobox-data"><div class="nickname">Ray Charles Robinson</div><span style="display:none">(<span class="bday">1930-09-23</span>)</span>September 23, 1930<br /><a href="/wiki/Albany,_Georgia" title="Albany, Georgia">Albany, Georgia</a>, U.S.</td></tr>
<tr><th scope="row" class="infobox-label">Genres</th><td class="infobox-data"><div class="hlist"><ul><li><a href="/wiki/Soul_music">Soul</a></li><li><a href="/wiki/Rhythm_and_blues">R&amp;B</a></li></ul></div></td></tr>
</tbody></table>
<table class="wikitable"><tbody><tr><th>Review scores</th><th>Rating</th></tr>
<tr><td>Allmusic</td><td><span role="img" title="Rating: 4.5 out of 5"><span typeof="mw:File"><img alt="" src="Star_full.svg" /></span></span></td></tr></tbody></table>
<p><b>Ray Charles Robinson</b> (September 23, 1930 – June 10, 2004) was an American singer.<sup id="cite_ref-1" class="reference"><a href="#cite_note-1">[1]</a></sup> He was signed by <a href="/wiki/Ahmet_Ertegun" title="Ahmet Ertegun">Ahmet Ertegün</a><sup class="reference"><a href="#cite_note-2">[2]</a></sup>, later of Atlantic.</p>
<h2><span class="mw-headline" id="Early_life">Early life</span><span class="mw-editsection">[<a href="/w/index.php?action=edit">edit</a>]</span></h2>
<p>Charles was born in <a href="/wiki/Albany,_Georgia">Albany, Georgia</a>.</p>
<div role="navigation" class="navbox" aria-labelledby="Ray_Charles"><table class="nowraplinks"><tr><th>Ray Charles</th></tr><tr><td><a href="/wiki/Discography">Discography</a> · <a href="/wiki/Songs">Songs</a></td></tr></table></div>
<div class="reflist"><ol class="references"><li id="cite_note-1">A source.</li></ol></div>
</div></div></body></html>"""


def test_sphinx_page_keeps_code_lines_links_and_anchors_without_chrome():
    page = render_html(SPHINX, "local://pydocs/library/json.html")
    assert page.lines == [
        "# json — JSON encoder and decoder",
        "Source code: 【0†Lib/json/__init__.py†github.com】",
        "Encoding basic Python object hierarchies:",
        "```",
        ">>> import json",
        ">>> json.dumps(['foo', {'bar': ('baz', None)}])",
        '\'["foo", {"bar": ["baz", null]}]\'',
        "```",
        "",
        "## Basic Usage",
        "json.dump(obj, fp)",
        "Serialize obj as a JSON formatted stream to fp (a .write()-supporting 【1†file-like object】)"
        " using",
        "this 【2†conversion table】.",
    ]
    assert page.anchors["json.dump"] == 10 and page.anchors["basic-usage"] == 8
    assert page.links[1].url == "local://pydocs/glossary.html#term-file-like-object"
    assert page.links[2].url == "local://pydocs/library/json.html#py-to-json-table"


def test_docbook_parameter_page_keeps_toc_anchors_and_program_listing():
    page = render_html(DOCBOOK, "local://pg/runtime-config-locks.html")
    assert page.lines == [
        "## 20.12. Lock Management",
        "【0†deadlock_timeout】",
        "【1†max_locks_per_transaction】",
        "deadlock_timeout (integer)",
        "This is the amount of time to wait on a lock before checking to see if there is a deadlock",
        "condition. The default is one second (1s).",
        "```",
        "SET deadlock_timeout = '2s';",
        "SHOW deadlock_timeout;",
        "```",
        "max_locks_per_transaction (integer)",
        "The shared lock table has space for max_locks_per_transaction objects. The default is 64. See",
        "【0†deadlock_timeout】.",
    ]
    assert page.anchors["GUC-DEADLOCK-TIMEOUT"] == 3
    assert page.anchors["GUC-MAX-LOCKS-PER-TRANSACTION"] == 10
    # Each place on the page is its own link; the same place keeps one id.
    assert page.links[0].url.endswith("runtime-config-locks.html#GUC-DEADLOCK-TIMEOUT")
    assert page.links[1].url.endswith("#GUC-MAX-LOCKS-PER-TRANSACTION")
    assert "Prev" not in "\n".join(page.lines) and page.notes == ()


def test_wikipedia_article_infobox_without_hidden_text_and_rating_as_text():
    page = render_html(WIKIPEDIA, "https://en.wikipedia.org/wiki/Ray_Charles")
    assert page.lines == [
        "Ray Charles",
        "Born | Ray Charles Robinson; September 23, 1930; 【0†Albany, Georgia】, U.S.",
        "Genres | 【1†Soul】; 【2†R&B】",
        "Review scores | Rating",
        "Review scores: Allmusic | Rating: Rating: 4.5 out of 5",
        "Ray Charles Robinson (September 23, 1930 – June 10, 2004) was an American singer. He was "
        "signed by",
        "【3†Ahmet Ertegün】, later of Atlantic.",
        "",
        "## Early life",
        "Charles was born in 【0†Albany, Georgia】.",
    ]
    assert page.anchors["Early_life"] == 8


def _index_page(sections: int = 12, links: int = 50, intro: int = 20) -> str:
    prose = "Each article is the lead section of its page, as the editors keep it. " * intro
    parts = [
        "<html><head><title>Vital articles: index</title></head><body>",
        "<h1>Vital articles: index</h1>",
        f"<p>Articles grouped by topic. {prose}</p><ul>",
    ]
    parts += [f'<li><a href="#t{k}">Topic {k}</a> ({links})</li>' for k in range(sections)]
    parts.append("</ul>")
    for k in range(sections):
        parts.append(f'<h2 id="t{k}">Topic {k}</h2><ul>')
        parts += [f'<li><a href="a{k}_{i}.html">Article {k}.{i}</a></li>' for i in range(links)]
        parts.append("</ul>")
    return "\n".join([*parts, "</body></html>"])


def test_link_list_index_page_loses_no_section():
    page = render_html(_index_page(), "local://vital/index.html")
    text = "\n".join(page.lines)
    for k in range(12):
        assert f"## Topic {k}" in page.lines  # the extractor kept none of them
        assert page.anchors[f"t{k}"] == page.lines.index(f"## Topic {k}")
    targets = {link.url for link in page.links.values()}
    assert all(f"local://vital/a{k}_{i}.html" in targets for k in range(12) for i in range(50))
    assert "Article 11.49" in text and "Each article is the lead section" in text


def test_a_cut_article_says_so():
    menu = "".join(
        f'<div class="m"><a href="/m{i}">Menu entry number {i}</a></div>' for i in range(40)
    )
    body = "<p>" + "Lighthouses guide ships safely into harbours at night. " * 30 + "</p>"
    html = f"<html><body><div>{menu}</div><div>{body}</div></body></html>"
    page = render_html(html, "https://e.org/x")
    assert "Menu entry" not in "\n".join(page.lines)
    assert any("left out" in note for note in page.notes)


def test_quoted_table_row_reads_with_its_headers():
    html = """<main><table><tr><th>Operator</th><th>Description</th></tr>
    <tr><td><code>+</code></td><td><p>Addition</p><p>also of intervals</p></td></tr>
    <tr><td><code>-</code></td><td>Subtraction<br>or negation</td></tr></table></main>"""
    page = render_html(html, "https://e.org/ops")
    assert page.lines == [
        "Operator | Description",
        "Operator: + | Description: Addition; also of intervals",
        "Operator: - | Description: Subtraction; or negation",
    ]
    span = PageMatcher(page).quote("Operator: - | Description: Subtraction")
    assert span is not None and span.line_start == span.line_end == 2


def test_preformatted_text_keeps_lines_and_indentation():
    html = "<main><p>A struct:</p><pre>struct s {\n\tint a;\n    char *b;\n};</pre></main>"
    page = render_html(html, "https://e.org/c", width=40)
    assert page.lines == [
        "A struct:",
        "```",
        "struct s {",
        "        int a;",
        "    char *b;",
        "};",
        "```",
    ]


def test_stray_spaces_before_punctuation_are_removed():
    html = """<main><p>Kinsaku <sup class="reference">[1]</sup>, later <script>x()</script>.
    He ( <span class="noprint">x</span>) left ; then .NET stayed.</p></main>"""
    assert render_html(html, "https://e.org/k").lines == [
        "Kinsaku, later. He () left; then .NET stayed."
    ]


def test_render_of_a_large_index_is_bounded():
    started = time.perf_counter()
    page = render_html(_index_page(12, 833, 1), "local://vital/index.html")
    assert time.perf_counter() - started < 10
    assert len(page.links) == 12 * 833 + 12


def test_wide_table_repeats_its_header_instead_of_labelling_cells():
    head = "".join(f"<th>Column {i}</th>" for i in range(10))
    rows = "".join(
        "<tr>" + "".join(f"<td>{r}.{i}</td>" for i in range(10)) + "</tr>" for r in range(45)
    )
    page = render_html(
        f"<main><table><tr>{head}</tr>{rows}</table></main>", "https://e.org/t", width=200
    )
    header = " | ".join(f"Column {i}" for i in range(10))
    assert [i for i, line in enumerate(page.lines) if line == header] == [0, 21, 42]
    assert page.lines[1] == " | ".join(f"0.{i}" for i in range(10))


def test_markdown_and_plain_text_code_keep_their_lines():
    from webqa.render import render_text

    md = (
        "# T\n\nIntro text.\n\n```python\ndef f(x):\n    return x\n\n\nprint(f(1))\n```\n\n"
        "After.\n\n    indented code\n      more\n\nEnd."
    )
    assert render_text(md, "local://a.md", markdown=True).lines == [
        "# T",
        "",
        "Intro text.",
        "",
        "```",
        "def f(x):",
        "    return x",
        "",
        "",
        "print(f(1))",
        "```",
        "",
        "After.",
        "",
        "```",
        "indented code",
        "  more",
        "```",
        "",
        "End.",
    ]
    plain = render_text("Prose line one\nwrapped here.\n\ndef f(x):\n\treturn x\n", "local://a.txt")
    assert plain.lines == ["Prose line one wrapped here.", "", "def f(x):", "        return x"]
