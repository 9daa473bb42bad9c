/** A set of ids kept in sorted order, for cursor paging of online streamers without sorting per request. */
export class SortedIdSet {
  private readonly ids: string[] = [];

  get size(): number {
    return this.ids.length;
  }

  add(id: string): void {
    const at = this.lowerBound(id);
    if (this.ids[at] !== id) this.ids.splice(at, 0, id);
  }

  delete(id: string): void {
    const at = this.lowerBound(id);
    if (this.ids[at] === id) this.ids.splice(at, 1);
  }

  /** Up to `limit` ids strictly after `afterId` (from the start when null). */
  after(afterId: string | null, limit: number): string[] {
    let start = 0;
    if (afterId !== null) {
      start = this.lowerBound(afterId);
      if (this.ids[start] === afterId) start += 1;
    }
    return this.ids.slice(start, start + limit);
  }

  private lowerBound(id: string): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
