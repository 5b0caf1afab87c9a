// The one JupyterLite service kite overrides: the in-browser kernel client (IKernelClient).
//
// JupyterLab's Interrupt button (menu, `I,I`) calls the kernel client's interrupt(kernelId), and
// LiteKernelClient's only cancels the messages queued for the kernel. KiteKernelClient keeps
// everything of LiteKernelClient and makes interrupt() reach a kite kernel for real: SIGINT into
// the shared buffer (KiteKernel.interrupt). The cell fails with KeyboardInterrupt and the core's
// stop_on_error aborts the execute requests queued behind it (the rest of a "Run all"). Other
// kernels, and pages that cannot interrupt, get LiteKernelClient's behaviour. kite kernels that
// @jupyterlite/xeus loaded from a prefix get the same (xeus.ts).
// (A control-channel interrupt_request needs nothing here: KiteKernel posts every message to its
// worker at once, so LiteKernelClient's queue never holds one behind a running cell.)
// It reads one private field of LiteKernelClient (`_kernels`); see README.md.

import { LiteKernelClient } from '@jupyterlite/services';

import { KiteKernel } from './kernel';
import { isKiteXeusKernel } from './xeus';

export class KiteKernelClient extends LiteKernelClient {
  /** Interrupt a kernel (REST-style call from the kernel connection). */
  async interrupt(kernelId: string): Promise<void> {
    const kernel = (this as any)._kernels?.get(kernelId);
    if (kernel instanceof KiteKernel) {
      await kernel.ready;
      if (kernel.interrupt().ok) {
        return;
      }
    } else if (isKiteXeusKernel(kernel)) {
      // kite from a xeus prefix (xeus.ts)
      await kernel.ready;
      if (kernel.kiteInterrupt().ok) {
        return;
      }
    }
    return super.interrupt(kernelId);
  }
}
