// A third-party MCP client for real: the TypeScript SDK launches
// `xaactl proxy` as a stdio server, lists the tools and calls one, against
// a testbed MCP server and a real, signed-in xaad daemon.
//
// Usage: node client.mjs XAACTL XAAD_TESTENV
// The last line is "ts-client: PASS ..." or "ts-client: FAIL ..."; the exit
// status is 0 only on PASS. Run by scripts/ts-client-test.sh, which
// installs the SDK and builds the two binaries.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [xaactl, testenv] = process.argv.slice(2);
if (!xaactl || !testenv) {
  console.error("usage: node client.mjs XAACTL XAAD_TESTENV");
  process.exit(2);
}

// The test environment prints one JSON line and runs until its stdin
// closes, so it cannot outlive this process.
const env = spawn(testenv, [], { stdio: ["pipe", "pipe", "inherit"] });
const envExited = new Promise((resolve) => env.on("exit", resolve));

async function firstLine(stream) {
  const rl = createInterface({ input: stream });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  throw new Error("xaad-testenv printed nothing");
}

async function main() {
  const { socket, mcp_url: url } = JSON.parse(await firstLine(env.stdout));
  const transport = new StdioClientTransport({
    command: xaactl,
    args: ["--socket", socket, "proxy", url],
    stderr: "inherit",
  });
  const client = new Client({ name: "xaad-ts-client-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    if (!names.includes("echo")) throw new Error(`tools ${names} lack echo`);
    const res = await client.callTool({ name: "echo", arguments: { text: "hello from TypeScript" } });
    const text = res.content?.[0]?.text;
    if (res.isError || text !== "hello from TypeScript") {
      throw new Error(`echo answered ${JSON.stringify(res)}`);
    }
    return `listed ${names.length} tools (${names.join(", ")}), echo answered "${text}"`;
  } finally {
    await client.close(); // closes xaactl's stdin: it ends the remote session
  }
}

let code = 0;
try {
  const what = await main();
  console.log(`ts-client: PASS: TypeScript SDK through xaactl proxy: ${what}`);
} catch (err) {
  console.log(`ts-client: FAIL: ${err?.stack ?? err}`);
  code = 1;
}
env.stdin.end();
await envExited;
process.exit(code);
