// The one JupyterLite service kite overrides: the in-browser kernel client (IKernelClient).
//
// JupyterLite's LiteKernelClient.interrupt() only cancels queued cells, and every message to an
// in-browser kernel (the control channel's interrupt_request included) waits in one queue behind
// the running cell. KiteKernelClient keeps everything of LiteKernelClient and changes two things:
//   1. interrupt(id) (the notebook's Interrupt button, menu and `I,I`) asks a kite kernel to
//      interrupt for real (SIGINT through shared memory). The interrupted cell then fails with
//      KeyboardInterrupt, and LiteKernelClient's existing "error cancels the queued cells" path
//      stops the rest of a "Run all", as ipykernel's stop_on_error does. For other kernels, or
//      when the page cannot interrupt, it falls back to LiteKernelClient's behaviour.
//   2. An interrupt_request on the control channel reaches a kite kernel as soon as it
//      arrives, instead of after the cell it is meant to stop.
// It reads two private fields of LiteKernelClient (`_clients`, `_kernels`); see README.md.

import { KernelMessage } from '@jupyterlab/services';
import { deserialize } from '@jupyterlab/services/lib/kernel/serialize';
import { LiteKernelClient } from '@jupyterlite/services';

import { KiteKernel } from './kernel';

const PROTOCOL = 'v1.kernel.websocket.jupyter.org';

export class KiteKernelClient extends LiteKernelClient {
  constructor(options: LiteKernelClient.IOptions) {
    super(options);
    const clients = (this as any)._clients;
    if (clients?.changed?.connect) {
      // A socket is added to `_clients` before LiteKernelClient attaches its own message
      // listener, so ours sees each message first.
      clients.changed.connect((_: unknown, args: any) => {
        if (args.type === 'add' && args.newValue) {
          this._watchControl(String(args.key), args.newValue);
        }
      });
    } else {
      console.warn('[kite] LiteKernelClient internals changed: interrupt_request is queued');
    }
  }

  /** Interrupt a kernel (REST-style call from the kernel connection). */
  async interrupt(kernelId: string): Promise<void> {
    const kernel = this._kernel(kernelId);
    if (kernel instanceof KiteKernel) {
      try {
        await kernel.ready;
      } catch {
        // not started: nothing runs
      }
      if (kernel.interrupt().ok) {
        return;
      }
    }
    return super.interrupt(kernelId);
  }

  private _kernel(kernelId: string | undefined): unknown {
    if (!kernelId) {
      return undefined;
    }
    return (this as any)._kernels?.get(kernelId);
  }

  private _watchControl(clientId: string, socket: any): void {
    if (typeof socket.on !== 'function') {
      return;
    }
    socket.on('message', (message: unknown) => {
      let msg: KernelMessage.IMessage;
      try {
        if (message instanceof ArrayBuffer) {
          msg = deserialize(message, PROTOCOL);
        } else if (typeof message === 'string') {
          msg = deserialize(new TextEncoder().encode(message).buffer, PROTOCOL);
        } else {
          return;
        }
      } catch {
        return;
      }
      if (msg.channel !== 'control' || msg.header.msg_type !== 'interrupt_request') {
        return;
      }
      const kernelId: string | undefined = (this as any)._getClientKernel?.(clientId);
      const kernel = this._kernel(kernelId);
      if (kernel instanceof KiteKernel) {
        kernel.handleInterruptRequest(msg);
      }
    });
  }
}
