// Imported first by the page: zod must know before any schema is built that it may not compile parsers with eval,
// which the page's CSP forbids (its probe alone would be reported as a CSP violation).
import * as z from 'zod';

z.config({ jitless: true });
