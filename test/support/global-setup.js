// Plain JS: Jest loads global setup outside its TypeScript transform.
// Names this run's databases; the template itself is built lazily by the
// first test file that needs one (test/support/database.ts).
export default async function globalSetup() {
  // pid and start time: a pid reused after a killed run must not pick up its stale template.
  process.env.TW_TEST_RUN = `${process.pid}_${Date.now().toString(36)}`;
}
