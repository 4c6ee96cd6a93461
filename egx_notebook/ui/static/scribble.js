// Freehand scribble tool of the egx-notebook Explorer (an anywidget ES module).
//
// Rendered inside a Leaflet WidgetControl, it adds a transparent canvas over the whole map container. While the
// tool is active the canvas takes the pointer (so the map does not pan), draws the stroke for feedback and, on
// release, sends the stroke to Python as container pixels with the container size:
//   {event: "stroke", points: [[x, y], ...], size: [w, h], width_px: w}
// Python turns the pixels into map coordinates with the map's reported bounds (Leaflet places the container
// linearly in its projected plane) and makes an egx FreeForm.scribble prompt of the stroke.

const MIN_STEP_PX = 1.5;

function render({ model, el }) {
  const bar = document.createElement("div");
  bar.className = "egx-scribble-bar";
  const toggle = document.createElement("button");
  toggle.className = "egx-scribble-toggle";
  toggle.type = "button";
  toggle.title = "Freehand scribble prompt: switch on, then drag on the map";
  toggle.textContent = "\u270e Scribble";
  const width = document.createElement("input");
  width.type = "range";
  width.min = "2";
  width.max = "40";
  width.step = "1";
  width.className = "egx-scribble-width";
  width.title = "Brush width (screen pixels)";
  const widthLabel = document.createElement("span");
  widthLabel.className = "egx-scribble-width-label";
  bar.append(toggle, width, widthLabel);
  el.appendChild(bar);

  let container = null;
  let canvas = null;
  let ctx = null;
  let points = [];
  let drawing = false;
  let fadeTimer = null;

  const stop = (e) => e.stopPropagation();
  for (const type of ["mousedown", "pointerdown", "dblclick", "click", "wheel", "touchstart"]) {
    bar.addEventListener(type, stop);
  }

  function syncWidth() {
    const w = model.get("width_px");
    width.value = String(w);
    widthLabel.textContent = `${w} px`;
  }

  function local(e) {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  function resize() {
    const r = container.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(r.width));
    canvas.height = Math.max(1, Math.round(r.height));
  }

  function strokeStyle() {
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "rgba(255, 149, 0, 0.85)";
    ctx.lineWidth = model.get("width_px");
  }

  function onDown(e) {
    if (!model.get("active")) return;
    e.preventDefault();
    e.stopPropagation();
    if (fadeTimer) {
      clearTimeout(fadeTimer);
      fadeTimer = null;
    }
    resize();
    drawing = true;
    points = [local(e)];
    canvas.setPointerCapture?.(e.pointerId);
    strokeStyle();
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    ctx.lineTo(points[0][0] + 0.01, points[0][1]);
    ctx.stroke();
  }

  function onMove(e) {
    if (!drawing) return;
    e.preventDefault();
    e.stopPropagation();
    const p = local(e);
    const last = points[points.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP_PX) return;
    points.push(p);
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
  }

  function onUp(e) {
    if (!drawing) return;
    e.preventDefault();
    e.stopPropagation();
    drawing = false;
    const r = canvas.getBoundingClientRect();
    model.send({ event: "stroke", points, size: [r.width, r.height], width_px: model.get("width_px") });
    points = [];
    fadeTimer = setTimeout(() => ctx.clearRect(0, 0, canvas.width, canvas.height), 600);
  }

  function ensureCanvas() {
    if (canvas) return true;
    container = el.closest(".leaflet-container");
    if (!container) return false;
    canvas = document.createElement("canvas");
    canvas.className = "egx-scribble-canvas";
    container.appendChild(canvas);
    ctx = canvas.getContext("2d");
    canvas.addEventListener("pointerdown", onDown);
    canvas.addEventListener("pointermove", onMove);
    canvas.addEventListener("pointerup", onUp);
    canvas.addEventListener("pointercancel", onUp);
    for (const type of ["mousedown", "click", "dblclick", "wheel", "contextmenu", "touchstart"]) {
      canvas.addEventListener(type, stop);
    }
    return true;
  }

  function applyActive() {
    const on = model.get("active");
    toggle.classList.toggle("egx-active", on);
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    if (!ensureCanvas()) {
      toggle.title = "Scribble works when this tool sits on an Explorer map";
      return;
    }
    canvas.classList.toggle("egx-active", on);
    if (on) resize();
    container.classList.toggle("egx-scribbling", on);
  }

  toggle.addEventListener("click", (e) => {
    e.stopPropagation();
    model.set("active", !model.get("active"));
    model.save_changes();
  });
  width.addEventListener("input", () => {
    model.set("width_px", Number(width.value));
    model.save_changes();
  });
  model.on("change:active", applyActive);
  model.on("change:width_px", syncWidth);
  syncWidth();
  // the control is attached to the map after render: look for the map container on the next frame
  requestAnimationFrame(applyActive);

  return () => {
    model.off("change:active", applyActive);
    model.off("change:width_px", syncWidth);
    if (fadeTimer) clearTimeout(fadeTimer);
    canvas?.remove();
  };
}

export default { render };
