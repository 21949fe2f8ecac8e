// A type test, run by tsc (tsconfig.json) and never executed: the error classes of
// web/recorder/errors.js against their declarations in web/recorder/index.d.ts. (index.js checks
// the rest of the module against index.d.ts itself; from outside, './index.js' names the
// declarations only.)
import type * as Declared from '../../web/recorder/index.js';
import type * as Code from '../../web/recorder/errors.js';

type Constructor = abstract new (...args: never[]) => unknown;
type ClassNames<M> = { [K in keyof M]: M[K] extends Constructor ? K : never }[keyof M];
type Instances<M, Names extends keyof M> = { [K in Names]: M[K] extends Constructor ? InstanceType<M[K]> : never };

// Every error class the code exports is declared, and its instances have the declared shape
// (code, fatal, detail, status, ...).
type CodeErrors = ClassNames<typeof Code>;
export const codeMatchesDeclarations: Instances<typeof Declared, CodeErrors> =
  null as unknown as Instances<typeof Code, CodeErrors>;

// Every declared error class exists in the code.
type DeclaredErrors = Exclude<ClassNames<typeof Declared>, 'Recorder'>;
export const everyDeclaredErrorExists: CodeErrors[] = [] as DeclaredErrors[];
