import { ONLINE_SAMPLE_MS, ONLINE_SAMPLES_KEPT, type OnlineSample, type OnlineSeries } from '../domain/online-series.port.js';

/** The online series in this process's memory: single node only. */
export class MemoryOnlineSeries implements OnlineSeries {
  private readonly samples: OnlineSample[] = [];

  async offer(sample: OnlineSample): Promise<boolean> {
    const last = this.samples.at(-1);
    // A little early still counts: timers drift, and one sample per interval is what matters.
    if (last !== undefined && sample.at - last.at < ONLINE_SAMPLE_MS * 0.9) return false;
    this.samples.push(sample);
    if (this.samples.length > ONLINE_SAMPLES_KEPT) this.samples.shift();
    return true;
  }

  async read(): Promise<OnlineSample[]> {
    return [...this.samples];
  }
}
