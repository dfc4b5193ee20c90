import type { Message } from "./tokens.js";

/**
 * The TDS surface's error catalog: SQLite failures as SQL Server numbers, classes and texts, so client
 * code that branches on `err.number` (2627 duplicate key, 208 missing table …) behaves as against Azure.
 * Anything unrecognised is 50000 with SQLite's message (tds.md §7).
 */
export class SqlStatementError extends Error {
  constructor(readonly info: Omit<Message, "serverName">) {
    super(info.message);
    this.name = "SqlStatementError";
  }
}

export const statementError = (number: number, severity: number, message: string, state = 1) => new SqlStatementError({ number, severity, message, state });

interface Rule {
  match: RegExp;
  map: (m: RegExpMatchArray, database: string) => SqlStatementError;
}

const table = (t: string) => t.replace(/^main\./, "");

const RULES: Rule[] = [
  { match: /^no such table: (.+)$/, map: (m) => statementError(208, 16, `Invalid object name '${table(m[1]!)}'.`) },
  { match: /^no such column: (.+)$/, map: (m) => statementError(207, 16, `Invalid column name '${m[1]!.replace(/^.*\./, "")}'.`) },
  { match: /^near "(.*)": syntax error$/, map: (m) => statementError(102, 15, `Incorrect syntax near '${m[1]}'.`) },
  { match: /^incomplete input$/, map: () => statementError(102, 15, "Incorrect syntax near the end of the batch.") },
  { match: /^unrecognized token: "(.*)"$/, map: (m) => statementError(102, 15, `Incorrect syntax near '${m[1]}'.`) },
  {
    match: /^UNIQUE constraint failed: ([^.,]+)\.([^,]+)/,
    map: (m) => statementError(2627, 14, `Violation of UNIQUE KEY constraint 'UQ_${m[1]}_${m[2]}'. Cannot insert duplicate key in object 'dbo.${m[1]}'.`),
  },
  {
    match: /^NOT NULL constraint failed: ([^.]+)\.(.+)$/,
    map: (m, db) => statementError(515, 16, `Cannot insert the value NULL into column '${m[2]}', table '${db}.dbo.${m[1]}'; column does not allow nulls. INSERT fails.`, 2),
  },
  { match: /^FOREIGN KEY constraint failed$/, map: () => statementError(547, 16, "The statement conflicted with a FOREIGN KEY constraint.", 0) },
  { match: /^CHECK constraint failed: (.+)$/, map: (m) => statementError(547, 16, `The statement conflicted with the CHECK constraint "${m[1]}".`, 0) },
  { match: /^(?:table|index|view|trigger) "?([^" ]+)"? already exists$/, map: (m) => statementError(2714, 16, `There is already an object named '${m[1]}' in the database.`, 6) },
  { match: /^no such function: (.+)$/, map: (m) => statementError(195, 15, `'${m[1]}' is not a recognized built-in function name.`, 10) },
  { match: /^Missing named parameter "(.+)"$/, map: (m) => statementError(137, 15, `Must declare the scalar variable "@${m[1]}".`, 2) },
  { match: /^cannot commit - no transaction is active$/, map: () => statementError(3902, 16, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.") },
  { match: /^cannot rollback - no transaction is active$/, map: () => statementError(3903, 16, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.") },
  { match: /^cannot start a transaction within a transaction$/, map: () => statementError(266, 16, "Transaction count after EXECUTE indicates a mismatching number of BEGIN and COMMIT statements.") },
  { match: /^no such savepoint: (.+)$/, map: (m) => statementError(6401, 16, `Cannot roll back ${m[1]}. No transaction or savepoint of that name was found.`) },
  { match: /database is locked|database table is locked/, map: () => statementError(1222, 16, "Lock request time out period exceeded.", 56) },
  { match: /readonly database/, map: (_m, db) => statementError(3906, 16, `Failed to update database "${db}" because the database is read-only.`) },
  { match: /^datatype mismatch$/, map: () => statementError(245, 16, "Conversion failed because of a data type mismatch.") },
  { match: /too many SQL variables|Too many parameter values/, map: () => statementError(8003, 16, "The incoming request has too many parameters. The server supports a maximum of 2100 parameters.") },
];

export function mapSqliteError(message: string, database: string): SqlStatementError {
  for (const rule of RULES) {
    const m = message.match(rule.match);
    if (m) return rule.map(m, database);
  }
  return statementError(50000, 16, message);
}
