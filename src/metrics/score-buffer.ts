/**
 * A growable score array stored as float32 while every value is exactly representable in float32
 * (anomaly maps from our models are Float32Arrays: half the memory of float64 at 518 px), switching
 * to float64 as soon as one value is not, so that results never depend on a rounding we introduced.
 */
export class ScoreBuffer {
  private buf: Float32Array | Float64Array = new Float32Array(1024);
  length = 0;

  get isFloat64(): boolean {
    return this.buf instanceof Float64Array;
  }

  /** Makes room for `extra` more values; `float64` upgrades the storage first. */
  reserve(extra: number, float64: boolean): void {
    const need = this.length + extra;
    const upgrade = float64 && !this.isFloat64;
    if (need <= this.buf.length && !upgrade) return;
    const cap = Math.max(need, this.buf.length < need ? this.buf.length * 2 : this.buf.length);
    const next = upgrade || this.isFloat64 ? new Float64Array(cap) : new Float32Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** The backing array after `reserve`: callers write from index `length` on, then advance `length`. */
  storage(): Float32Array | Float64Array {
    return this.buf;
  }

  /** The stored values (a view: sorting it sorts the buffer). */
  view(): Float32Array | Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Growable Uint32 array (region ids of positive pixels, region areas). */
export class Uint32Buffer {
  private buf = new Uint32Array(1024);
  length = 0;

  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    const next = new Uint32Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  storage(): Uint32Array {
    return this.buf;
  }

  view(): Uint32Array {
    return this.buf.subarray(0, this.length);
  }
}
