// Select area: paint over the part of an image to change, then say what to change.
// Props (from ui/select_area.py): imageId, shortId, url, width, height; `sent` once applied.
// Strokes are kept in the image's own pixels, so the mask is built at its exact size:
// opaque everywhere, transparent where painted (the OpenAI mask convention).
import { useEffect, useRef, useState } from "react";
import { Button } from "@/components/ui/button";

const INK = "rgba(236, 72, 153, 1)";

function drawStrokes(ctx, strokes, color) {
  ctx.fillStyle = color;
  ctx.strokeStyle = color;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of strokes) {
    const [first, ...rest] = stroke.points;
    if (!first) continue;
    ctx.beginPath();
    ctx.arc(first[0], first[1], stroke.size / 2, 0, Math.PI * 2);
    ctx.fill();
    if (rest.length) {
      ctx.beginPath();
      ctx.lineWidth = stroke.size;
      ctx.moveTo(first[0], first[1]);
      for (const [x, y] of rest) ctx.lineTo(x, y);
      ctx.stroke();
    }
  }
}

function maskDataUrl(strokes, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, width, height);
  ctx.globalCompositeOperation = "destination-out";
  drawStrokes(ctx, strokes, "#000");
  return canvas.toDataURL("image/png");
}

export default function MaskPainter() {
  const { imageId, shortId, url, width, height, sent } = props;
  const canvasRef = useRef(null);
  const drawing = useRef(null);
  const [strokes, setStrokes] = useState([]);
  const [brush, setBrush] = useState(Math.max(4, Math.round(width / 16)));
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [ring, setRing] = useState(null); // the brush outline under the pointer, in CSS px

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    drawStrokes(ctx, strokes, INK);
  }, [strokes, width, height]);

  if (sent) {
    return (
      <div style={{ fontSize: 14, opacity: 0.8 }} data-testid="mask-painter-sent">
        Sent the painted area of <code>{shortId}</code> with “{sent}”.
      </div>
    );
  }

  const toImage = (event) => {
    const rect = canvasRef.current.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * width) / rect.width,
      ((event.clientY - rect.top) * height) / rect.height,
    ];
  };
  const down = (event) => {
    // One stroke at a time: a second finger does not start another.
    if (busy || drawing.current || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    try {
      canvasRef.current.setPointerCapture(event.pointerId);
    } catch (ignored) {
      // The pointer may already be gone (a very short tap): the stroke still counts.
    }
    // State updaters run later: they get the stroke itself, never the ref (which `up` clears).
    const stroke = { size: brush, points: [toImage(event)], pointer: event.pointerId };
    drawing.current = stroke;
    setStrokes((all) => [...all, stroke]);
  };
  const showRing = (event) => {
    const rect = canvasRef.current.getBoundingClientRect();
    const size = (brush * rect.width) / width;
    setRing({ left: event.clientX - rect.left - size / 2, top: event.clientY - rect.top - size / 2, size });
  };
  const move = (event) => {
    if (event.pointerType === "mouse") showRing(event);
    if (!drawing.current || drawing.current.pointer !== event.pointerId) return;
    event.preventDefault();
    const stroke = { ...drawing.current, points: [...drawing.current.points, toImage(event)] };
    drawing.current = stroke;
    setStrokes((all) => [...all.slice(0, -1), stroke]);
  };
  const up = (event) => {
    if (drawing.current && drawing.current.pointer === event.pointerId) drawing.current = null;
  };

  const apply = async () => {
    setError("");
    if (!strokes.length) return setError("Paint over the area to change first.");
    if (!text.trim()) return setError("Say what should change in the painted area.");
    setBusy(true);
    try {
      const mask = maskDataUrl(strokes, width, height);
      const answer = await callAction({
        name: "select_area_apply",
        payload: { image_id: imageId, text: text.trim(), mask },
      });
      const result = (answer && answer.response) || {};
      if (result.ok) {
        await updateElement({ ...props, sent: text.trim() });
      } else {
        setError(result.error || "The edit was not sent. Try again.");
      }
    } catch (failure) {
      setError("The edit was not sent: " + String(failure));
    } finally {
      setBusy(false);
    }
  };

  const label = { fontSize: 13, display: "flex", alignItems: "center", gap: 8 };
  return (
    <div style={{ display: "flex", flexDirection: "column", gap: 10, maxWidth: 440 }}>
      <div
        style={{
          position: "relative",
          width: "100%",
          aspectRatio: `${width} / ${height}`,
          borderRadius: 8,
          overflow: "hidden",
          background: "#111",
        }}
      >
        <img
          src={url}
          alt={`Image ${shortId} to paint on`}
          draggable={false}
          style={{ position: "absolute", inset: 0, width: "100%", height: "100%" }}
        />
        <canvas
          ref={canvasRef}
          width={width}
          height={height}
          aria-label="Paint the area to change"
          data-testid="mask-canvas"
          onPointerDown={down}
          onPointerMove={move}
          onPointerUp={up}
          onPointerCancel={up}
          onLostPointerCapture={up}
          onPointerLeave={() => setRing(null)}
          style={{
            position: "absolute",
            inset: 0,
            width: "100%",
            height: "100%",
            opacity: 0.55,
            touchAction: "none",
            cursor: "crosshair",
          }}
        />
        {ring ? (
          <div
            aria-hidden="true"
            style={{
              position: "absolute",
              left: ring.left,
              top: ring.top,
              width: ring.size,
              height: ring.size,
              borderRadius: "50%",
              border: "2px solid white",
              boxShadow: "0 0 0 1px rgba(0,0,0,0.6)",
              pointerEvents: "none",
            }}
          />
        ) : null}
      </div>
      <div style={{ display: "flex", flexWrap: "wrap", gap: 8, alignItems: "center" }}>
        <label style={label}>
          Brush
          <input
            type="range"
            aria-label="Brush size"
            min={Math.max(2, Math.round(width / 100))}
            max={Math.max(8, Math.round(width / 5))}
            value={brush}
            onChange={(event) => setBrush(Number(event.target.value))}
            style={{ accentColor: "hsl(var(--primary))" }}
          />
        </label>
        <Button
          variant="outline"
          size="sm"
          disabled={!strokes.length || busy}
          onClick={() => setStrokes((all) => all.slice(0, -1))}
        >
          Undo
        </Button>
        <Button
          variant="outline"
          size="sm"
          disabled={!strokes.length || busy}
          onClick={() => setStrokes([])}
        >
          Clear
        </Button>
      </div>
      <textarea
        aria-label="What should change in the painted area"
        placeholder="What should change here? e.g. darker and softer, or add the tagline 'Open late'"
        value={text}
        rows={2}
        onChange={(event) => setText(event.target.value)}
        style={{
          width: "100%",
          padding: 8,
          borderRadius: 6,
          border: "1px solid hsl(var(--border))",
          background: "transparent",
          color: "inherit",
          font: "inherit",
          resize: "vertical",
        }}
      />
      <div style={{ display: "flex", gap: 12, alignItems: "center" }}>
        <Button onClick={apply} disabled={busy}>
          {busy ? "Sending…" : "Edit this area"}
        </Button>
        {error ? (
          <span role="alert" style={{ color: "hsl(var(--destructive))", fontSize: 13 }}>
            {error}
          </span>
        ) : null}
      </div>
    </div>
  );
}
