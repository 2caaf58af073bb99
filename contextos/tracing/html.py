"""A stored run as one self-contained HTML page: the answer, span tree, token waterfall per step, the
assembled messages and the tool schemas offered at each step.

No network (a Content-Security-Policy forbids it) and no HTML built from data: the run travels as
JSON inside a ``<script type="application/json">`` block (with ``<``, ``>`` and ``&`` escaped), and
the page's script builds every node with ``textContent``, so content such as ``<script>`` shows as text.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from contextos.tracing import _attributes as A
from contextos.tracing.records import RunSummary, SpanRecord
from contextos.tracing.view import final_answer, span_tree, step_context, steps

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:12px 20px}header h1{margin:0;font-size:18px}
header .meta{opacity:.8;font-size:13px}main{padding:16px 20px;max-width:1200px}
h2{font-size:16px;margin:24px 0 8px}.tree{background:#fff;border:1px solid #dde;border-radius:6px;padding:6px 0}
.span{display:grid;grid-template-columns:minmax(260px,40%) 90px 110px 1fr;align-items:center;gap:8px;padding:2px 10px}
.span:hover{background:#eef3ff}.span .name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.span .dur,.span .tok{font-variant-numeric:tabular-nums;color:#556;text-align:right}
.lane{position:relative;height:10px;background:#f0f1f4;border-radius:3px}.lane i{position:absolute;top:0;height:10px;border-radius:3px;background:#4a7bd0}
.span.error .name{color:#b3261e}.attrs{font:12px monospace;background:#fafbfc;margin:2px 10px 6px;padding:6px;border-radius:4px;white-space:pre-wrap;word-break:break-all}
.step{background:#fff;border:1px solid #dde;border-radius:6px;padding:10px 14px;margin-bottom:14px}
.bar{display:flex;height:22px;border-radius:4px;overflow:hidden;background:#eceef2;margin:6px 0}
.bar span{display:block;height:100%}.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend b{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:middle}
table{border-collapse:collapse;font-size:12px;margin:6px 0}td,th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left}
.dropped{color:#a33}.msg{border-left:3px solid #4a7bd0;margin:6px 0;padding:2px 8px}.msg .role{font-weight:600;font-size:12px;color:#556}
.msg pre{margin:2px 0;white-space:pre-wrap;word-break:break-word;font:12px/1.35 monospace}
.answer-text{background:#fff;border:1px solid #dde;border-radius:6px;padding:10px 14px;white-space:pre-wrap;font:13px/1.4 system-ui,sans-serif}
.tools summary{cursor:pointer;font-size:12px;color:#334}.schema{font:12px/1.35 monospace;background:#fafbfc;padding:6px;white-space:pre-wrap}
"""

_SCRIPT = r"""
(function(){
var data=JSON.parse(document.getElementById('trace-data').textContent);
var COLORS=['#4a7bd0','#e0913a','#3aa17e','#c2508e','#8a6fd1','#b8a22e','#4fb0c6','#d0564a','#7a8796'];
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function fmt(ms){return ms<1?ms.toFixed(2)+' ms':ms<1000?ms.toFixed(1)+' ms':(ms/1000).toFixed(2)+' s';}
var tree=document.getElementById('tree');var t0=data.start,total=Math.max(data.end-data.start,1);
data.spans.forEach(function(s){
  var row=el('div','span'+(s.status==='ERROR'?' error':''));row.setAttribute('data-span-id',s.span_id);
  var name=el('span','name',s.name);name.style.paddingLeft=(s.depth*16)+'px';row.appendChild(name);
  row.appendChild(el('span','dur',fmt(s.duration_ms)));
  row.appendChild(el('span','tok',s.tokens||''));
  var lane=el('div','lane'),bar=el('i');bar.style.left=(100*(s.start-t0)/total)+'%';
  bar.style.width=Math.max(100*(s.end-s.start)/total,0.3)+'%';lane.appendChild(bar);row.appendChild(lane);
  var box=el('div','attrs',JSON.stringify(s.attributes,null,1)+(s.events.length?'\nevents: '+JSON.stringify(s.events,null,1):''));
  box.hidden=true;row.addEventListener('click',function(){box.hidden=!box.hidden;});
  tree.appendChild(row);tree.appendChild(box);
});
var answerBox=document.getElementById('answer');
answerBox.appendChild(data.answer===null?el('p',null,'No final answer (the run stopped otherwise, or content was not captured).'):el('pre','answer-text',data.answer));
var stepsBox=document.getElementById('steps');
if(!data.steps.length)stepsBox.appendChild(el('p',null,'No assembled steps in this run.'));
data.steps.forEach(function(st){
  var sec=el('section','step');sec.setAttribute('data-step',st.step);
  sec.appendChild(el('h3',null,'Step '+st.step+' \u2014 '+st.request_tokens+' of '+st.budget+' tokens'));
  var bar=el('div','bar'),legend=el('div','legend');var names=Object.keys(st.per_source);
  names.forEach(function(src,i){var u=st.per_source[src];var c=COLORS[i%COLORS.length];
    var seg=el('span');seg.style.width=(100*u.kept_tokens/Math.max(st.budget,1))+'%';seg.style.background=c;
    seg.title=src+': '+u.kept_tokens+' tokens kept of '+u.offered_tokens+' offered';bar.appendChild(seg);
    var lg=el('span');var sw=el('b');sw.style.background=c;lg.appendChild(sw);
    lg.appendChild(document.createTextNode(src+' '+u.kept_tokens+'/'+u.offered_tokens));legend.appendChild(lg);});
  sec.appendChild(bar);sec.appendChild(legend);
  var tbl=el('table');var hd=el('tr');['item','source','status','tokens','reason'].forEach(function(h){hd.appendChild(el('th',null,h));});tbl.appendChild(hd);
  st.decisions.forEach(function(d){var tr=el('tr',d.status==='dropped'?'dropped':'');
    [d.id,d.source,d.status,d.tokens_before+' \u2192 '+d.tokens_after,d.reason].forEach(function(v){tr.appendChild(el('td',null,v));});tbl.appendChild(tr);});
  sec.appendChild(tbl);
  if(st.tools&&st.tools.length){var tools=el('details','tools');
    tools.appendChild(el('summary',null,'Tools offered ('+st.tools.length+'): '+st.tools.map(function(t){return (t.function||t).name;}).join(', ')));
    st.tools.forEach(function(t){tools.appendChild(el('pre','schema',JSON.stringify(t,null,2)));});sec.appendChild(tools);}
  if(st.messages){st.messages.forEach(function(m){var box=el('div','msg');box.appendChild(el('div','role',m.role));
    var c=m.content;if(c===null||c===undefined)c='';if(typeof c!=='string')c=JSON.stringify(c,null,1);
    if(m.tool_calls)c+=(c?'\n':'')+JSON.stringify(m.tool_calls,null,1);box.appendChild(el('pre',null,c));sec.appendChild(box);});}
  else sec.appendChild(el('p',null,'Message content was not captured for this run.'));
  stepsBox.appendChild(sec);
});
document.body.setAttribute('data-rendered','yes');
})();
"""


def _tokens(s: SpanRecord) -> str:
    a = s.attributes
    if A.INPUT_TOKENS in a or A.OUTPUT_TOKENS in a:
        return f"{a.get(A.INPUT_TOKENS, 0)} → {a.get(A.OUTPUT_TOKENS, 0)}"
    if A.REQUEST_TOKENS in a:
        return f"{a[A.REQUEST_TOKENS]} ctx"
    return ""


def page_data(summary: RunSummary, spans: list[SpanRecord]) -> dict[str, Any]:
    """What the page shows, as JSON-able data."""
    return {
        "run_id": summary.run_id,
        "start": min(s.start_time for s in spans) / 1e6,
        "end": max(s.end_time for s in spans) / 1e6,
        "spans": [
            {
                "span_id": s.span_id,
                "name": s.name,
                "depth": depth,
                "start": s.start_time / 1e6,
                "end": s.end_time / 1e6,
                "duration_ms": s.duration_ms,
                "status": s.status,
                "tokens": _tokens(s),
                "attributes": _decoded(s.attributes),
                "events": [e.model_dump() for e in s.events],
            }
            for depth, s in span_tree(spans)
        ],
        "steps": [step_context(spans, n).model_dump() for n in steps(spans)],
        "answer": final_answer(spans),
    }


def _decoded(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes with the JSON text ones (messages, decisions, tool schemas) decoded, so the page shows
    them as structures rather than as strings full of escaped quotes."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


def _script_json(value: Any) -> str:
    """JSON that cannot end its ``<script>`` block or open a comment, whatever strings it holds."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def html_report(summary: RunSummary, spans: list[SpanRecord]) -> str:
    """The page for one run."""
    nonce = secrets.token_urlsafe(16)
    models = ", ".join(summary.models) or "no model"
    meta = (
        f"{summary.start_time:%Y-%m-%d %H:%M:%S} UTC · {summary.duration_s:.2f} s · {summary.steps} steps · "
        f"{summary.tokens} tokens · {models} · {summary.status}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; img-src data:">
<title>contextos trace {_escape(summary.run_id[:12])}</title>
<style>{_STYLE}</style></head>
<body><header><h1>{_escape(summary.name)} <small>{_escape(summary.run_id)}</small></h1><div class="meta">{_escape(meta)}</div></header>
<main><h2>Answer</h2><div id="answer"></div><h2>Spans</h2><div id="tree" class="tree"></div><h2>Context per step</h2><div id="steps"></div></main>
<script type="application/json" id="trace-data">{_script_json(page_data(summary, spans))}</script>
<script nonce="{nonce}">{_SCRIPT}</script>
</body></html>
"""
