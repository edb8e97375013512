import type { ErrorCode } from '../errors.js';
import type { ApplyOptions, ApplyResult } from './types.js';

/** What crosses the thread boundary: plain, structured-cloneable data only. */
export type WorkerApplyOptions = Pick<
  ApplyOptions,
  'whiteouts' | 'subject' | 'rootless' | 'expectedDiffId' | 'parents' | 'zstd'
>;

export type ToWorker =
  | { readonly type: 'start'; readonly target: string; readonly options: WorkerApplyOptions }
  | { readonly type: 'chunk'; readonly data: Uint8Array }
  | { readonly type: 'end' }
  | { readonly type: 'abort'; readonly reason: string };

export type FromWorker =
  | { readonly type: 'ack'; readonly bytes: number }
  | { readonly type: 'progress'; readonly entries: number; readonly bytes: number }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'done'; readonly result: ApplyResult }
  | { readonly type: 'error'; readonly code: ErrorCode; readonly message: string };
