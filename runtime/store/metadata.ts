import * as lib from "@aws-sdk/lib-dynamodb";
import type { CanaryDevice } from "../canary/types";
import { queryAll } from "./dynamo";
import type { DeviceRecord, LoginFailureRecord, TokenRecord } from "./items";
import {
  AUTH_PARTITION,
  DEVICE_PARTITION,
  LOGIN_FAILURE_SORT_KEY,
  metadataTable,
  TOKEN_SORT_KEY,
} from "./tables";

const PK = metadataTable.hashKey.name;
const SK = metadataTable.rangeKey.name;

/** Device records, the cached token and the last rejected login, in the metadata table. */
export class MetadataStore {
  constructor(
    private readonly doc: lib.DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async devices(): Promise<DeviceRecord[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tableName,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": PK },
      ExpressionAttributeValues: { ":pk": DEVICE_PARTITION },
      ConsistentRead: true,
    });
    return items as unknown as DeviceRecord[];
  }

  /**
   * Creates or refreshes a device record, leaving its cursor (`lastReadingAt`) alone. The
   * first sighting is kept in `firstSeenAt`, so a backfill that fails and is retried later
   * still reaches back from when the device was first seen.
   */
  async upsertDevice(device: CanaryDevice, updatedAt: string): Promise<void> {
    await this.doc.send(
      new lib.UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: DEVICE_PARTITION, [SK]: device.id },
        UpdateExpression:
          "SET #id = :id, #uuid = :uuid, #name = :name, #type = :type, #location = :location, #online = :online, #updatedAt = :updatedAt, #firstSeenAt = if_not_exists(#firstSeenAt, :updatedAt)",
        ExpressionAttributeNames: {
          "#id": "id",
          "#uuid": "uuid",
          "#name": "name",
          "#type": "type",
          "#location": "location",
          "#online": "online",
          "#updatedAt": "updatedAt",
          "#firstSeenAt": "firstSeenAt",
        },
        ExpressionAttributeValues: {
          ":id": device.id,
          ":uuid": device.uuid,
          ":name": device.name,
          ":type": device.type,
          ":location": device.location,
          ":online": device.online,
          ":updatedAt": updatedAt,
        },
      }),
    );
  }

  /**
   * Records that a device's readings up to `checkedThrough` are fetched and stored, and,
   * when given, moves its cursor (`lastReadingAt`) forward to `newest`. One write; the
   * condition keeps a later cursor already stored.
   */
  async recordProgress(deviceId: string, checkedThrough: string, newest?: string): Promise<void> {
    const key = { [PK]: DEVICE_PARTITION, [SK]: deviceId };
    if (newest !== undefined) {
      try {
        await this.doc.send(
          new lib.UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: "SET #cursor = :newest, #checked = :checked",
            ConditionExpression: "attribute_not_exists(#cursor) OR #cursor < :newest",
            ExpressionAttributeNames: { "#cursor": "lastReadingAt", "#checked": "checkedThrough" },
            ExpressionAttributeValues: { ":newest": newest, ":checked": checkedThrough },
          }),
        );
        return;
      } catch (error) {
        if ((error as Error).name !== "ConditionalCheckFailedException") throw error;
      }
    }
    await this.doc.send(
      new lib.UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: "SET #checked = :checked",
        ExpressionAttributeNames: { "#checked": "checkedThrough" },
        ExpressionAttributeValues: { ":checked": checkedThrough },
      }),
    );
  }

  async token(): Promise<TokenRecord | undefined> {
    return (await this.get(TOKEN_SORT_KEY)) as TokenRecord | undefined;
  }

  async saveToken(sealed: string, obtainedAt: string, afterRefusal = false): Promise<void> {
    const record: TokenRecord = {
      pk: AUTH_PARTITION,
      sk: TOKEN_SORT_KEY,
      sealed,
      obtainedAt,
      ...(afterRefusal ? { afterRefusal } : {}),
    };
    await this.doc.send(new lib.PutCommand({ TableName: this.tableName, Item: record }));
  }

  async deleteToken(): Promise<void> {
    await this.delete(TOKEN_SORT_KEY);
  }

  async loginFailure(): Promise<LoginFailureRecord | undefined> {
    return (await this.get(LOGIN_FAILURE_SORT_KEY)) as LoginFailureRecord | undefined;
  }

  async saveLoginFailure(record: Omit<LoginFailureRecord, "pk" | "sk">): Promise<void> {
    const item: LoginFailureRecord = { pk: AUTH_PARTITION, sk: LOGIN_FAILURE_SORT_KEY, ...record };
    await this.doc.send(new lib.PutCommand({ TableName: this.tableName, Item: item }));
  }

  async clearLoginFailure(): Promise<void> {
    await this.delete(LOGIN_FAILURE_SORT_KEY);
  }

  private async get(sortKey: string): Promise<Record<string, unknown> | undefined> {
    const answer = await this.doc.send(
      new lib.GetCommand({
        TableName: this.tableName,
        Key: { [PK]: AUTH_PARTITION, [SK]: sortKey },
        ConsistentRead: true,
      }),
    );
    return answer.Item;
  }

  private async delete(sortKey: string): Promise<void> {
    await this.doc.send(
      new lib.DeleteCommand({
        TableName: this.tableName,
        Key: { [PK]: AUTH_PARTITION, [SK]: sortKey },
      }),
    );
  }
}
