// Prints, as JSON, the suggestion diagnostics TypeScript's language service gives for one file of a project (what
// an editor shows as hints, e.g. a struck-through call of a deprecated signature, code 6387), which tsc never
// reports. Usage: node typescript_suggestions.mjs <typescript module path> <tsconfig.json> <file.ts>
import { createRequire } from "node:module";
import path from "node:path";

const [typescriptPath, configPath, fileName] = process.argv.slice(2);
const ts = createRequire(import.meta.url)(typescriptPath);
const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} });
const service = ts.createLanguageService(
  {
    getCompilationSettings: () => config.options,
    getScriptFileNames: () => config.fileNames,
    getScriptVersion: () => "1",
    getScriptSnapshot: (name) => (ts.sys.fileExists(name) ? ts.ScriptSnapshot.fromString(ts.sys.readFile(name)) : undefined),
    getCurrentDirectory: () => path.dirname(configPath),
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  },
  ts.createDocumentRegistry(),
);
const file = path.resolve(fileName);
const source = service.getProgram().getSourceFile(file);
const found = service.getSuggestionDiagnostics(file).map((diagnostic) => ({
  code: diagnostic.code,
  line: source.getLineAndCharacterOfPosition(diagnostic.start).line + 1,
  message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"),
}));
console.log(JSON.stringify(found));
