import * as ddb from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { readingsTable } from "../../runtime/store/tables";
import { type LocalDynamo, startDynamo } from "./dynamo";

describe("local DynamoDB (dynalite)", () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynamo();
  });
  after(async () => {
    await dynamo.close();
  });

  it("creates both tables with the keys of the one table definition", async () => {
    const described = await dynamo.client.send(
      new ddb.DescribeTableCommand({ TableName: dynamo.tables.readings }),
    );
    expect(described.Table?.KeySchema).to.deep.equal([
      { AttributeName: readingsTable.hashKey.name, KeyType: "HASH" },
      { AttributeName: readingsTable.rangeKey.name, KeyType: "RANGE" },
    ]);
    const names = (await dynamo.client.send(new ddb.ListTablesCommand({}))).TableNames;
    expect(names).to.include.members([dynamo.tables.readings, dynamo.tables.metadata]);
  });
});
