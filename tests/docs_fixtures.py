"""Small documentation-shaped pages, written here: a Sphinx page and a DocBook page.

They carry the chrome real manuals carry (related/prev/next bars, a sidebar, breadcrumbs,
footers, ¶ permalinks) around content in the shapes manuals use (definition lists of
parameters, signatures, version notes, tables, code blocks), so ranking, index extraction and
answer selection can be tested without the evaluation corpora.
"""

from __future__ import annotations

from pathlib import Path

SPHINX_LOCKS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>locks — Waiting for shared resources — Widget 2.4
documentation</title></head>
<body>
<div class="related" role="navigation" aria-label="related navigation"><h3>Navigation</h3>
<ul><li><a href="genindex.html">index</a></li><li><a href="queues.html">next</a> |</li>
<li><a href="index.html">Widget 2.4 documentation</a> &#187;</li>
<li class="nav-item"><a href="library.html">The Widget Library</a> &#187;</li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper">
<div class="body" role="main">
<section id="module-locks"><h1><code>locks</code> — Waiting for shared resources<a
class="headerlink" href="#module-locks" title="Permalink to this heading">¶</a></h1>
<p>This module provides primitives for waiting on resources that another worker holds. A
lock is held by at most one worker at a time, and every other worker that asks for it waits in
a queue until the holder releases it or until its own timeout runs out.</p>
<dl class="py function">
<dt class="sig sig-object py" id="locks.acquire"><span class="sig-prename">locks.</span><span
class="sig-name">acquire</span>(<em>name</em>, <em>timeout=3.0</em>, <em>shared=False</em>)<a
class="headerlink" href="#locks.acquire">¶</a></dt>
<dd><p>Wait until the lock called <em>name</em> is free and take it.</p>
<dl class="field-list simple"><dt class="field-odd">Parameters:</dt><dd class="field-odd">
<ul class="simple">
<li><p><strong>name</strong> (<em>str</em>) – The name of the lock to take. Names are case
sensitive and may hold any character except the slash.</p></li>
<li><p><strong>timeout</strong> (<em>float</em>) – The maximum number of seconds to wait for the
lock before giving up with an error. Setting it to 0 disables waiting altogether. The default
is 3 seconds.</p></li>
<li><p><strong>shared</strong> (<em>bool</em>) – Whether other readers may hold the lock at the
same time as this one.</p></li>
</ul></dd></dl>
<p>Raises <a class="reference internal" href="#locks.LockTimeout">LockTimeout</a> when the
timeout runs out before the lock is free.</p>
<div class="versionadded"><p><span class="versionmodified added">New in version 2.1.</span></p>
</div></dd></dl>
<dl class="py data"><dt class="sig sig-object py" id="locks.MAX_WAITERS"><span
class="sig-prename">locks.</span><span class="sig-name">MAX_WAITERS</span></dt>
<dd><p>The largest number of workers that may wait for one lock, 512. A worker that would be
the next one gets an error at once.</p></dd></dl>
<dl class="py exception"><dt class="sig sig-object py" id="locks.LockTimeout"><em
class="property">exception </em><span class="sig-prename">locks.</span><span
class="sig-name">LockTimeout</span></dt>
<dd><p>Raised by <code>acquire()</code> when its timeout runs out.</p></dd></dl>
<p>An example of taking a lock and giving it back when the work is done:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span>
<span class="kn">with</span> <span class="n">locks</span><span class="o">.</span>acquire("db"):
    <span class="n">work</span>()
</pre></div></div>
<table class="docutils align-default"><thead><tr><th>Setting</th><th>Meaning</th></tr></thead>
<tbody><tr><td>WIDGET_LOCK_DIR</td><td>Where lock files are kept (default /run/widget)</td></tr>
<tr><td>WIDGET_LOCK_DEBUG</td><td>Log every wait longer than one second</td></tr></tbody></table>
</section></div></div></div>
<div class="sphinxsidebar" role="navigation" aria-label="main navigation"><h3>Previous topic</h3>
<p><a href="events.html">events — Waiting for events and deadlines</a></p><h3>Next topic</h3>
<p><a href="queues.html">queues</a></p><h3>This Page</h3><ul><li><a href="bugs.html">Report a
Bug</a></li><li><a href="_sources/locks.rst.txt">Show Source</a></li></ul></div></div>
<div class="footer">&#169; Copyright 2001-2023, Widget Software Foundation. The Widget Software
Foundation is a non-profit corporation. Last updated on Feb 08, 2023. Found a bug?
Created using <a href="https://www.sphinx-doc.org/">Sphinx</a> 4.5.0.</div>
</body></html>
"""

DOCBOOK_TUNING = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<title>20.4. Resource Consumption</title></head><body>
<div class="navheader"><table width="100%" summary="Navigation header"><tr><th colspan="3"
align="center">20.4. Resource Consumption</th></tr><tr><td width="20%" align="left"><a
accesskey="p" href="runtime-config-connection.html">Prev</a> </td><th width="60%"
align="center">Chapter 20. Server Configuration</th><td width="20%" align="right"> <a
accesskey="n" href="runtime-config-wal.html">Next</a></td></tr></table><hr></div>
<div class="sect1" id="RUNTIME-CONFIG-RESOURCE"><div class="titlepage"><div><div><h2
class="title" style="clear: both">20.4. Resource Consumption</h2></div></div></div>
<div class="variablelist"><dl class="variablelist">
<dt id="GUC-WORK-BUFFER"><span class="term"><code class="varname">work_buffer</code> (<code
class="type">integer</code>)</span></dt>
<dd><p>Sets the base amount of memory to be used by a query operation before writing to
temporary disk files. If this value is specified without units, it is taken as kilobytes. The
default value is four megabytes (4MB).</p></dd>
<dt id="GUC-IDLE-SLICE"><span class="term"><code class="varname">idle_slice</code> (<code
class="type">integer</code>)</span></dt>
<dd><p>The length of time a background worker sleeps between rounds of activity. The default
is 200 milliseconds. This parameter was added in version 13.</p></dd>
</dl></div></div>
<div class="navfooter"><hr><table width="100%" summary="Navigation footer"><tr><td width="40%"
align="left"><a accesskey="p" href="runtime-config-connection.html">Prev</a> </td><td
width="20%" align="center"><a accesskey="u" href="runtime-config.html">Up</a></td><td
width="40%" align="right"> <a accesskey="n" href="runtime-config-wal.html">Next</a></td></tr>
<tr><td width="40%" align="left" valign="top">20.3. Connections and Authentication </td><td
width="20%" align="center"><a accesskey="h" href="index.html">Home</a></td><td width="40%"
align="right" valign="top"> 20.5. Write Ahead Log</td></tr></table></div>
</body></html>
"""


def write_docs(root: Path) -> Path:
    """A small manual folder: the two pages above, a generated index and a TOC of links."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "locks.html").write_text(SPHINX_LOCKS, encoding="utf-8")
    (root / "resource.html").write_text(DOCBOOK_TUNING, encoding="utf-8")
    entries = "".join(
        f'<li><a href="locks.html#e{i}">lock timeout waiting entry {i} (locks.acquire)</a></li>'
        for i in range(300)
    )
    (root / "genindex.html").write_text(
        f"<html><head><title>Index — Widget 2.4</title></head><body><h1>Index</h1><ul>{entries}"
        "</ul></body></html>",
        encoding="utf-8",
    )
    toc = "".join(
        f'<li><a href="p{i}.html">Waiting for locks, part {i}: lock timeout</a></li>'
        for i in range(300)
    )
    (root / "contents.html").write_text(
        f"<html><head><title>Contents — Widget 2.4</title></head><body><ul>{toc}</ul>"
        "</body></html>",
        encoding="utf-8",
    )
    return root
