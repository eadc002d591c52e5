/**
 * A name for a thing defined in a YAML file, from the file's name: lower case,
 * runs of anything but letters, digits and "-" become one "-", at most 32
 * characters ("clusters/Rack 0.yml" → "rack-0"). `fallback` when nothing is left.
 */
export function nameFromFileName(path: string, fallback: string): string {
  const base = path.replace(/^.*\//, '').replace(/\.(ya?ml)$/i, '');
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return name === '' ? fallback : name;
}
