import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

export interface LambdaSourceOptions {
  /** The entry module, a TypeScript file under `projectRoot`. */
  entry: string;
  /** Root of the project: tsconfig.json lives here and output paths mirror it. */
  projectRoot: string;
  /** Where the transpiled modules go; must lie under the working directory. */
  outDir: string;
}

export interface LambdaSource {
  /**
   * `outDir` relative to the working directory: the path CallbackFunction's
   * `codePathOptions.extraIncludePaths` takes, and the folder it appears as in the archive.
   */
  includePath: string;
  /** What `__index.js`, at the archive's root, passes to `require` to load the entry. */
  entryRequirePath: string;
  /** Every module written, as project-relative `.ts` paths, entry first. */
  modules: string[];
}

/**
 * Transpiles the Lambda entry and every local module it requires at run time into plain
 * CommonJS under `outDir`, so the function runs the runtime code exactly as Node runs it
 * here. Pulumi's closure serializer re-creates local modules value by value instead, and
 * that loses class fields, Error subclassing, module-level Sets and Maps and `#private`
 * members, all of which `runtime/` uses. Packages stay `require`s, resolved from the
 * archive's node_modules. Type-only imports are erased first, so only code that runs ships.
 */
export function buildLambdaSource(options: LambdaSourceOptions): LambdaSource {
  const projectRoot = path.resolve(options.projectRoot);
  const outDir = path.resolve(options.outDir);
  const includePath = toPosix(path.relative(process.cwd(), outDir));
  if (!includePath || includePath.startsWith("..") || path.isAbsolute(includePath)) {
    throw new Error(
      `Lambda source: ${outDir} must lie under the working directory ${process.cwd()}; run Pulumi from the project root`,
    );
  }

  const compilerOptions = readCompilerOptions(projectRoot);
  const emitted = new Map<string, string>();
  const pending = [path.resolve(projectRoot, options.entry)];
  while (pending.length > 0) {
    const file = pending.shift() as string;
    const relative = toPosix(path.relative(projectRoot, file));
    if (emitted.has(relative)) continue;

    const output = ts.transpileModule(fs.readFileSync(file, "utf8"), {
      compilerOptions,
      fileName: file,
      reportDiagnostics: false,
    }).outputText;
    emitted.set(relative, output);
    for (const imported of ts.preProcessFile(output, true, true).importedFiles) {
      if (imported.fileName.startsWith(".")) pending.push(resolveModule(file, imported.fileName));
    }
  }

  writeTree(outDir, emitted);
  const entry = [...emitted.keys()][0] as string;
  return {
    includePath,
    entryRequirePath: `./${includePath}/${jsName(entry)}`,
    modules: [...emitted.keys()],
  };
}

function readCompilerOptions(projectRoot: string): ts.CompilerOptions {
  const configPath = path.join(projectRoot, "tsconfig.json");
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) {
    throw new Error(
      `Lambda source: cannot read ${configPath}: ${ts.flattenDiagnosticMessageText(error.messageText, "\n")}`,
    );
  }
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, projectRoot);
  // Source maps would point at files the archive does not hold; the output keeps the
  // source's line structure closely enough for Lambda's stack traces.
  return {
    ...parsed.options,
    module: ts.ModuleKind.CommonJS,
    sourceMap: false,
    inlineSourceMap: false,
    declaration: false,
    noEmit: false,
  };
}

function resolveModule(fromFile: string, specifier: string): string {
  const base = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    `Lambda source: ${fromFile} requires "${specifier}", which is not a TypeScript module (${base}.ts)`,
  );
}

/** Writes changed files only and removes stale ones, so repeated runs leave the tree stable. */
function writeTree(outDir: string, files: Map<string, string>): void {
  const wanted = new Map([...files].map(([relative, text]) => [jsName(relative), text]));
  if (fs.existsSync(outDir)) {
    for (const existing of listFiles(outDir)) {
      if (!wanted.has(existing)) fs.rmSync(path.join(outDir, existing));
    }
  }
  for (const [relative, text] of wanted) {
    const target = path.join(outDir, relative);
    if (fs.existsSync(target) && fs.readFileSync(target, "utf8") === text) continue;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
  }
}

function listFiles(dir: string, prefix = ""): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(path.join(dir, entry.name), relative) : [relative];
  });
}

function jsName(relativeTs: string): string {
  return relativeTs.replace(/\.ts$/, ".js");
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}
