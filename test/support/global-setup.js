// Plain JS: Jest loads global setup outside its TypeScript transform.
// Names this run's databases; the template itself is built lazily by the
// first test file that needs one (test/support/database.ts).
export default async function globalSetup() {
  process.env.TW_TEST_RUN = String(process.pid);
}
