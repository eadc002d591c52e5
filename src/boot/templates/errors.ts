/**
 * The one error the template language throws: it names the template field
 * (a JSON pointer into an Ignition template, or "line N" of a text template),
 * the expression, and what is wrong with it.
 */
export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    /** Where in the template: "/storage/files/0/contents/source", "line 3", or "" for the whole text. */
    readonly field: string,
    /** The placeholder's expression as written, without the braces; "" when the problem is not one placeholder. */
    readonly expression: string,
    /** What is wrong, for a person. */
    readonly detail: string,
  ) {
    super(`${field || 'template'}: ${expression ? `{{ ${expression} }}: ` : ''}${detail}`);
  }
}
