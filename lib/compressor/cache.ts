/**
 * A cache keyed by (namespace, text), bounded by the total length of the texts it holds, oldest
 * entry out first. The middleware sends the whole history again every turn, so the tool outputs of
 * earlier turns come back unchanged: their token counts and compressed forms are looked up, not redone.
 * A Map keyed by the text itself compares long strings by content, so no hash of our own is needed.
 */
export class TextKeyedCache<V> {
  private readonly byNamespace = new Map<string, Map<string, V>>();
  private readonly order: { namespace: string; text: string }[] = [];
  private head = 0;
  private chars = 0;

  constructor(private readonly maxChars: number) {}

  get(namespace: string, text: string): V | undefined {
    return this.byNamespace.get(namespace)?.get(text);
  }

  set(namespace: string, text: string, value: V): void {
    if (text.length > this.maxChars) return;
    let map = this.byNamespace.get(namespace);
    if (map === undefined) this.byNamespace.set(namespace, (map = new Map()));
    if (map.has(text)) return;
    map.set(text, value);
    this.order.push({ namespace, text });
    this.chars += text.length;
    while (this.chars > this.maxChars && this.head < this.order.length) {
      const oldest = this.order[this.head++];
      const oldestMap = this.byNamespace.get(oldest.namespace);
      oldestMap?.delete(oldest.text);
      // Namespaces carry a context's terms: one per tool output at most, so empty ones must go too.
      if (oldestMap?.size === 0) this.byNamespace.delete(oldest.namespace);
      this.chars -= oldest.text.length;
    }
    // Drop the consumed front of the queue now and then rather than shifting on every eviction.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.byNamespace.clear();
    this.order.length = 0;
    this.head = 0;
    this.chars = 0;
  }
}
