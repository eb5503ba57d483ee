// The lineage tree of a chat's images (side panel). Props from ui/lineage.py:
// focusId, nodes = [{id, shortId, parentId, depth, children, thumb, prompt, cost, size,
// quality, turn}] in depth-first order. Refine sets the target image (the "refine" action);
// picking two nodes and Compare shows them side by side in the chat (the "compare" action).
import { useState } from "react";
import { Button } from "@/components/ui/button";

const INDENT = 18;

function Node({ node, focused, picked, onPick, onRefine }) {
  return (
    <li
      data-testid="lineage-node"
      data-image-id={node.id}
      data-depth={node.depth}
      style={{
        listStyle: "none",
        marginLeft: node.depth * INDENT,
        paddingLeft: node.depth ? 10 : 0,
        borderLeft: node.depth ? "2px solid hsl(var(--border))" : "none",
      }}
    >
      <div
        style={{
          display: "flex",
          gap: 10,
          padding: 8,
          borderRadius: 8,
          border: focused ? "2px solid hsl(var(--primary))" : "1px solid hsl(var(--border))",
          background: picked ? "hsl(var(--accent))" : "transparent",
        }}
      >
        <img
          src={node.thumb}
          alt={`Image ${node.shortId}`}
          width={72}
          height={72}
          style={{ width: 72, height: 72, objectFit: "cover", borderRadius: 6, flex: "none" }}
        />
        <div style={{ minWidth: 0, flex: 1, display: "flex", flexDirection: "column", gap: 4 }}>
          <div style={{ fontSize: 12, display: "flex", gap: 6, flexWrap: "wrap" }}>
            <code>{node.shortId}</code>
            <span style={{ opacity: 0.7 }}>
              turn {node.turn} · {node.size} · {node.quality}
            </span>
            <strong data-testid="lineage-cost">{node.cost}</strong>
          </div>
          <div
            title={node.prompt}
            style={{
              fontSize: 13,
              overflow: "hidden",
              display: "-webkit-box",
              WebkitLineClamp: 2,
              WebkitBoxOrient: "vertical",
            }}
          >
            {node.prompt || "(no prompt)"}
          </div>
          <div style={{ display: "flex", gap: 6, alignItems: "center", flexWrap: "wrap" }}>
            <Button size="sm" variant="outline" onClick={() => onRefine(node)}>
              Refine
            </Button>
            <Button
              size="sm"
              variant={picked ? "default" : "outline"}
              aria-pressed={picked}
              onClick={() => onPick(node)}
            >
              {picked ? "Picked" : "Pick to compare"}
            </Button>
            {node.children > 1 ? (
              <span style={{ fontSize: 12, opacity: 0.7 }}>{node.children} branches</span>
            ) : null}
          </div>
        </div>
      </div>
    </li>
  );
}

export default function LineageTree() {
  const nodes = props.nodes || [];
  const [picked, setPicked] = useState([]);
  const [note, setNote] = useState("");

  const pick = (node) => {
    setNote("");
    setPicked((now) =>
      now.includes(node.id) ? now.filter((id) => id !== node.id) : [...now, node.id].slice(-2)
    );
  };
  const refine = async (node) => {
    setNote("");
    try {
      await callAction({ name: "refine", payload: { image_id: node.id } });
      setNote(`Refining ${node.shortId}: type your change in the chat.`);
    } catch (failure) {
      setNote("Could not start refining: " + String(failure));
    }
  };
  const compare = async () => {
    if (picked.length !== 2) return setNote("Pick two images to compare.");
    try {
      const answer = await callAction({
        name: "compare",
        payload: { a: picked[0], b: picked[1] },
      });
      const result = (answer && answer.response) || {};
      setNote(result.ok ? "The comparison is in the chat." : result.error || "Not compared.");
    } catch (failure) {
      setNote("Could not compare: " + String(failure));
    }
  };

  if (!nodes.length) return <div style={{ fontSize: 14 }}>No images in this chat yet.</div>;
  return (
    <div style={{ display: "flex", flexDirection: "column", gap: 10 }}>
      <div style={{ display: "flex", gap: 8, alignItems: "center", flexWrap: "wrap" }}>
        <Button size="sm" onClick={compare} disabled={picked.length !== 2}>
          Compare {picked.length}/2
        </Button>
        <span role="status" style={{ fontSize: 13, opacity: 0.8 }}>
          {note || (picked.length < 2 ? "Pick two images, then Compare." : "")}
        </span>
      </div>
      <ul style={{ display: "flex", flexDirection: "column", gap: 8, padding: 0, margin: 0 }}>
        {nodes.map((node) => (
          <Node
            key={node.id}
            node={node}
            focused={node.id === props.focusId}
            picked={picked.includes(node.id)}
            onPick={pick}
            onRefine={refine}
          />
        ))}
      </ul>
    </div>
  );
}
