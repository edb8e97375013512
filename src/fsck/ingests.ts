import type { IngestRow } from '../metadata/index.js';
import type { Check, Finding, Scan } from './types.js';

/** The ingest records of the scan with no data on disk. */
export function datalessIngests(scan: Scan): IngestRow[] {
  const withData = new Set(scan.ingests.map((s) => `${s.scope}\0${s.ref}`));
  return scan.records.ingests.filter((r) => !withData.has(`${r.namespace}\0${r.ref}`));
}

/** Ingest records with no data on disk: garbage (`--repair` drops the record). */
export const ingestsWithoutData: Check = (scan) =>
  datalessIngests(scan).map(
    (r): Finding => ({
      severity: 'garbage',
      subject: `ingest ${r.ref}`,
      message: `namespace ${r.namespace}: recorded but has no data`,
    }),
  );

/** Namespaced ingests with data: resumable downloads, consistent (info). */
export const resumableIngests: Check = (scan) =>
  scan.ingests
    .filter((s) => s.scope !== '')
    .map(
      (s): Finding => ({
        severity: 'info',
        subject: `ingest ${s.ref}`,
        message: `resumable at ${s.offset} bytes`,
      }),
    );
