/**
 * A pure function of a string key, computed once per key (URLs split or described, JSON pieces of attribute
 * names). The keys come in a handful of values, but some reach us from clients (`provider/model` addressing varies
 * the URL of path-per-model vendors), so each cache is bounded: past 1,024 entries it starts over.
 */
const MAX_KEYS = 1024;

export function memoByKey<T>(compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = compute(key);
      if (cache.size >= MAX_KEYS) cache.clear();
      cache.set(key, value);
    }
    return value;
  };
}
