// `npm run build`: builds the dashboard into dist/ (with the stamp `ferry up` checks).
import { ensureDashboardBuilt } from "./index.js";

const dist = await ensureDashboardBuilt({ force: true, log: (m) => console.log(m) });
console.log(`dashboard built into ${dist}`);
