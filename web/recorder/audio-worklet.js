// AudioWorklet processor 'recorder-tap': downmixes its input to mono and posts blocks of
// BLOCK_FRAMES float32 samples with the context frame number of their first sample:
//   port message out: {samples: Float32Array (transferred), frame: number}
//   port message in:  'stop'  (the processor ends)
// Input with no channels (a muted or ended source) counts as silence, so time keeps flowing.
const BLOCK_FRAMES = 4800;  // 100 ms at 48 kHz: few messages, latency well under a chunk

class RecorderTap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(BLOCK_FRAMES);
    this.filled = 0;
    this.blockFrame = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data === 'stop') this.running = false;
    };
  }

  process(inputs) {
    if (!this.running) return false;
    const channels = inputs[0] || [];
    const frames = channels.length ? channels[0].length : 128;
    const scale = channels.length ? 1 / channels.length : 0;
    for (let i = 0; i < frames; i++) {
      if (this.filled === 0) this.blockFrame = currentFrame + i;
      let sum = 0;
      for (const channel of channels) sum += channel[i];
      this.block[this.filled++] = sum * scale;
      if (this.filled === BLOCK_FRAMES) {
        this.port.postMessage({ samples: this.block, frame: this.blockFrame }, [this.block.buffer]);
        this.block = new Float32Array(BLOCK_FRAMES);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('recorder-tap', RecorderTap);
