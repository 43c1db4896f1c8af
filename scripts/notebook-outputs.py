"""Turns an executed notebook into the copy committed under notebooks/ (see scripts/notebook-outputs.sh).

  python3 scripts/notebook-outputs.py EXECUTED.ipynb TARGET.ipynb

GitHub shows a notebook's stored outputs but runs none of their scripts, so an interactive plotly
figure would be an empty box there (and each would carry the 4.6 MB plotly.js bundle). Every plotly
output is therefore replaced by a PNG of the same figure, drawn by plotly.js itself in headless
Chromium (CHROMIUM, default /usr/bin/chromium). Running the notebook again brings the interactive
figures back. Execution timestamps are dropped so that a regeneration only changes what it shows.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PLOTLY = os.path.join(ROOT, "node_modules", "plotly.js-dist", "plotly.js")
# The marker and variable simclip's plotlyFigureHtml (src/notebook/plotly.ts) writes each figure with.
MARKER = 'class="simclip-plotly"'
FIGURE_VAR = "var fig = "
WIDTH = 960


def figure_of(html):
    """The {data, layout} a simclip plotly output draws, or None for any other HTML."""
    if MARKER not in html:
        return None
    start = html.index(FIGURE_VAR) + len(FIGURE_VAR)
    fig, _ = json.JSONDecoder().raw_decode(html, start)
    return fig


def render_png(fig, work):
    layout = dict(fig.get("layout") or {})
    height = int(layout.get("height", 420))
    layout.update(width=WIDTH, height=height)
    page = os.path.join(work, "figure.html")
    png = os.path.join(work, "figure.png")
    with open(PLOTLY, encoding="utf8") as f:
        library = f.read().replace("</script", "<\\/script")
    spec = json.dumps({"data": fig.get("data", []), "layout": layout}).replace("<", "\\u003c")
    with open(page, "w", encoding="utf8") as f:
        f.write(
            '<!DOCTYPE html><html><body style="margin: 0; background: white">'
            f'<div id="fig" style="width: {WIDTH}px; height: {height}px"></div>'
            f"<script>{library}</script>"
            f"<script>var s = {spec}; Plotly.newPlot('fig', s.data, s.layout, {{staticPlot: true}});</script>"
            "</body></html>"
        )
    if os.path.exists(png):
        os.remove(png)
    r = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={os.path.join(work, 'profile')}",
         "--hide-scrollbars", f"--window-size={WIDTH},{height}", "--virtual-time-budget=20000",
         f"--screenshot={png}", f"file://{page}"],
        capture_output=True, text=True, timeout=180,
    )
    if not os.path.exists(png):
        sys.exit(f"chromium wrote no PNG for a figure (status {r.returncode}):\n{r.stderr[-3000:]}")
    with open(png, "rb") as f:
        return base64.b64encode(f.read()).decode("ascii"), height


def title_of(fig):
    title = (fig.get("layout") or {}).get("title") or {}
    text = title.get("text", "") if isinstance(title, dict) else str(title)
    return text.replace("<br>", " — ").replace("<sub>", "").replace("</sub>", "")


def main(src, dst):
    with open(src, encoding="utf8") as f:
        nb = json.load(f)
    figures = 0
    with tempfile.TemporaryDirectory() as work:
        for cell in nb["cells"]:
            cell.get("metadata", {}).pop("execution", None)
            for out in cell.get("outputs", []):
                html = out.get("data", {}).get("text/html")
                fig = figure_of("".join(html) if isinstance(html, list) else html or "")
                if fig is None:
                    continue
                png, height = render_png(fig, work)
                out["data"] = {"image/png": png, "text/plain": [f"plotly figure: {title_of(fig)}"]}
                out["metadata"] = {"image/png": {"width": WIDTH, "height": height}}
                out.pop("transient", None)
                figures += 1
    with open(dst, "w", encoding="utf8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{dst}: {figures} figure(s) as PNG")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
