/**
 * Installs the agent CLIs the e2e tests drive into their cache folders (test/helpers/agent-clis.ts), so that
 * `npm test` finds them. Run by .ci/run before the tests: `node test/install-agent-clis.ts`.
 */
import { AGENT_CLIS, ensureAgentCli } from "./helpers/agent-clis.ts";

for (const cli of AGENT_CLIS) {
  await ensureAgentCli(cli);
  process.stdout.write(`${cli.name}: ${cli.packageSpec} in ${cli.cache}\n`);
}
