// Two images of a chat compared: side by side, or one over the other with a slider.
// Props from ui/lineage.py: a and b = {id, shortId, url, width, height, prompt, size}.
import { useRef, useState } from "react";
import { Button } from "@/components/ui/button";

function Caption({ image }) {
  return (
    <div style={{ fontSize: 12, marginTop: 4 }} title={image.prompt}>
      <code>{image.shortId}</code> <span style={{ opacity: 0.7 }}>{image.size}</span>
      <div style={{ opacity: 0.8, overflow: "hidden", whiteSpace: "nowrap", textOverflow: "ellipsis" }}>
        {image.prompt}
      </div>
    </div>
  );
}

function TwoUp({ a, b }) {
  return (
    <div data-testid="compare-two-up" style={{ display: "flex", gap: 8 }}>
      {[a, b].map((image) => (
        <figure key={image.id} style={{ flex: 1, minWidth: 0, margin: 0 }}>
          <img
            src={image.url}
            alt={`Image ${image.shortId}`}
            style={{ width: "100%", height: "auto", borderRadius: 6, display: "block" }}
          />
          <Caption image={image} />
        </figure>
      ))}
    </div>
  );
}

function Slider({ a, b }) {
  const [split, setSplit] = useState(50);
  const box = useRef(null);
  const dragging = useRef(false);
  const follow = (event) => {
    const rect = box.current.getBoundingClientRect();
    const value = ((event.clientX - rect.left) / rect.width) * 100;
    setSplit(Math.min(100, Math.max(0, value)));
  };
  const layer = { position: "absolute", inset: 0, width: "100%", height: "100%" };
  return (
    <div data-testid="compare-slider" style={{ maxWidth: 560 }}>
      <div
        ref={box}
        onPointerDown={(event) => {
          dragging.current = true;
          try {
            box.current.setPointerCapture(event.pointerId);
          } catch (ignored) {
            // A pointer that is already gone: following it until it lifts is enough.
          }
          follow(event);
        }}
        onPointerMove={(event) => dragging.current && follow(event)}
        onPointerUp={() => (dragging.current = false)}
        onPointerCancel={() => (dragging.current = false)}
        style={{
          position: "relative",
          width: "100%",
          aspectRatio: `${a.width} / ${a.height}`,
          borderRadius: 6,
          overflow: "hidden",
          touchAction: "none",
          cursor: "ew-resize",
          userSelect: "none",
        }}
      >
        <img src={b.url} alt={`Image ${b.shortId}`} draggable={false} style={layer} />
        <img
          src={a.url}
          alt={`Image ${a.shortId}`}
          draggable={false}
          style={{ ...layer, clipPath: `inset(0 ${100 - split}% 0 0)` }}
        />
        <div
          style={{
            position: "absolute",
            top: 0,
            bottom: 0,
            left: `${split}%`,
            width: 2,
            background: "white",
            boxShadow: "0 0 4px rgba(0,0,0,0.6)",
          }}
        />
      </div>
      <input
        type="range"
        aria-label="Slide between the two images"
        min={0}
        max={100}
        value={Math.round(split)}
        onChange={(event) => setSplit(Number(event.target.value))}
        style={{ width: "100%", marginTop: 6, accentColor: "hsl(var(--primary))" }}
      />
      <div style={{ display: "flex", justifyContent: "space-between", fontSize: 12 }}>
        <span>
          ← <code>{a.shortId}</code>
        </span>
        <span>
          <code>{b.shortId}</code> →
        </span>
      </div>
    </div>
  );
}

export default function Compare() {
  const { a, b } = props;
  const [mode, setMode] = useState("two-up");
  if (!a || !b) return null;
  return (
    <div style={{ display: "flex", flexDirection: "column", gap: 8, maxWidth: 720 }}>
      <div style={{ display: "flex", gap: 6 }} role="group" aria-label="Compare mode">
        <Button
          size="sm"
          variant={mode === "two-up" ? "default" : "outline"}
          aria-pressed={mode === "two-up"}
          onClick={() => setMode("two-up")}
        >
          Side by side
        </Button>
        <Button
          size="sm"
          variant={mode === "slider" ? "default" : "outline"}
          aria-pressed={mode === "slider"}
          onClick={() => setMode("slider")}
        >
          Slider
        </Button>
      </div>
      {mode === "two-up" ? <TwoUp a={a} b={b} /> : <Slider a={a} b={b} />}
    </div>
  );
}
