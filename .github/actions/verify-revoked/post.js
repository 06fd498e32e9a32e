// Runs the check script given as the "script" input with bash; its exit
// code is the step's.
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const script = process.env["INPUT_SCRIPT"];
if (!script) {
  console.log("::error::verify-revoked: the script input is required");
  process.exit(1);
}
const full = path.resolve(process.env["GITHUB_WORKSPACE"] || ".", script);
const r = spawnSync("bash", [full], { stdio: "inherit" });
process.exit(r.status === null ? 1 : r.status);
