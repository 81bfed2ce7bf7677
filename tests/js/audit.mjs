// Runs graphql-http's GraphQL-over-HTTP server audits against a running Archivist and prints
// one JSON line per audit: {id, name, status: "ok" | "notice" | "warn" | "error", reason}.
//   node tests/js/audit.mjs http://127.0.0.1:8000/graphql
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs <graphql url>");
  process.exit(2);
}
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  const reason = result.status === "ok" ? null : result.reason;
  console.log(JSON.stringify({ id: audit.id, name: audit.name, status: result.status, reason }));
}
