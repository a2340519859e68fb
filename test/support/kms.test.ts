import * as kms from "@aws-sdk/client-kms";
import { expect } from "chai";
import { KMS_CREDENTIALS, type KmsStandIn, startKmsStandIn } from "./kms";

const CONTEXT = { app: "canary-capture", purpose: "canary-password" };

describe("local KMS stand-in", () => {
  let standIn: KmsStandIn;
  let client: kms.KMSClient;

  beforeEach(async () => {
    standIn = await startKmsStandIn({ keys: 2 });
    client = new kms.KMSClient({
      region: "us-east-1",
      endpoint: standIn.endpoint,
      credentials: KMS_CREDENTIALS,
    });
  });
  afterEach(async () => {
    client.destroy();
    await standIn.close();
  });

  const encrypt = (plaintext: string, context: Record<string, string>, keyId = standIn.keyId) =>
    client.send(
      new kms.EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from(plaintext),
        EncryptionContext: context,
      }),
    );

  const failure = async (request: Promise<unknown>): Promise<kms.KMSServiceException> => {
    try {
      await request;
    } catch (error) {
      expect(error).to.be.instanceOf(kms.KMSServiceException);
      return error as kms.KMSServiceException;
    }
    return expect.fail("expected KMS to refuse the request");
  };

  it("encrypts and decrypts through the real KMS client, answering with the key ARN", async () => {
    const bareId = standIn.keyId.slice(standIn.keyId.indexOf("/") + 1);

    const encrypted = await encrypt("hunter2", CONTEXT, bareId);
    const decrypted = await client.send(
      new kms.DecryptCommand({
        CiphertextBlob: encrypted.CiphertextBlob,
        EncryptionContext: CONTEXT,
      }),
    );

    expect(encrypted.KeyId).to.equal(standIn.keyId);
    expect(encrypted.EncryptionAlgorithm).to.equal("SYMMETRIC_DEFAULT");
    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).to.equal("hunter2");
    expect(decrypted.KeyId).to.equal(standIn.keyId);
  });

  it("refuses Decrypt with a changed, missing or extra encryption context pair, as KMS does", async () => {
    const { CiphertextBlob } = await encrypt("hunter2", CONTEXT);
    const contexts = [
      { ...CONTEXT, purpose: "canary-token" },
      { app: CONTEXT.app },
      { ...CONTEXT, extra: "pair" },
      undefined,
    ];

    for (const context of contexts) {
      const error = await failure(
        client.send(new kms.DecryptCommand({ CiphertextBlob, EncryptionContext: context })),
      );
      expect(error, JSON.stringify(context)).to.be.instanceOf(kms.InvalidCiphertextException);
      expect(error.$metadata.httpStatusCode).to.equal(400);
    }
  });

  it("binds the encryption context whatever the order of its pairs", async () => {
    const { CiphertextBlob } = await encrypt("hunter2", CONTEXT);

    const decrypted = await client.send(
      new kms.DecryptCommand({
        CiphertextBlob,
        EncryptionContext: { purpose: CONTEXT.purpose, app: CONTEXT.app },
      }),
    );

    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).to.equal("hunter2");
  });

  it("decrypts what encrypt() made as at deploy time, without counting it as a request", async () => {
    const deployed = standIn.encrypt("hunter2", CONTEXT);
    expect(standIn.calls).to.deep.equal({});

    const decrypted = await client.send(
      new kms.DecryptCommand({
        KeyId: standIn.keyId,
        CiphertextBlob: Buffer.from(deployed, "base64"),
        EncryptionContext: CONTEXT,
      }),
    );

    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).to.equal("hunter2");
    expect(standIn.calls).to.deep.equal({ Decrypt: 1 });
  });

  it("answers an unknown key with NotFoundException and another key with IncorrectKeyException", async () => {
    const { CiphertextBlob } = await encrypt("hunter2", CONTEXT);
    const unknown = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000";

    const notFound = await failure(encrypt("hunter2", CONTEXT, unknown));
    const incorrect = await failure(
      client.send(
        new kms.DecryptCommand({
          KeyId: standIn.keyIds[1],
          CiphertextBlob,
          EncryptionContext: CONTEXT,
        }),
      ),
    );

    expect(notFound).to.be.instanceOf(kms.NotFoundException);
    expect(incorrect).to.be.instanceOf(kms.IncorrectKeyException);
  });

  it("refuses plaintext that KMS refuses: empty, or over 4096 bytes", async () => {
    await encrypt("x".repeat(4096), CONTEXT);

    for (const plaintext of ["", "x".repeat(4097)]) {
      const error = await failure(encrypt(plaintext, CONTEXT));
      expect(error.name, `${plaintext.length} bytes`).to.equal("ValidationException");
    }
  });

  it("refuses an altered ciphertext blob", async () => {
    const { CiphertextBlob } = await encrypt("hunter2", CONTEXT);
    const altered = Buffer.from(CiphertextBlob ?? []);
    altered[altered.length - 1] ^= 0x01;

    const error = await failure(
      client.send(new kms.DecryptCommand({ CiphertextBlob: altered, EncryptionContext: CONTEXT })),
    );

    expect(error).to.be.instanceOf(kms.InvalidCiphertextException);
  });

  it("counts requests per operation, refused ones included", async () => {
    const { CiphertextBlob } = await encrypt("hunter2", CONTEXT);
    await client.send(new kms.DecryptCommand({ CiphertextBlob, EncryptionContext: CONTEXT }));
    await failure(client.send(new kms.DecryptCommand({ CiphertextBlob, EncryptionContext: {} })));

    expect(standIn.calls).to.deep.equal({ Encrypt: 1, Decrypt: 2 });
  });

  it("refuses unsigned requests and operations it does not implement", async () => {
    const post = async (headers: Record<string, string>) => {
      const response = await fetch(standIn.endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", ...headers },
        body: JSON.stringify({ KeyId: standIn.keyId }),
      });
      return { status: response.status, body: (await response.json()) as { __type?: string } };
    };

    const unsigned = await post({ "x-amz-target": "TrentService.Encrypt" });
    const unknown = await post({
      "x-amz-target": "TrentService.GenerateDataKey",
      authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/kms/aws4_request",
    });

    expect(unsigned.status).to.equal(400);
    expect(unsigned.body.__type).to.equal("MissingAuthenticationTokenException");
    expect(unknown.status).to.equal(400);
    expect(unknown.body.__type).to.equal("UnknownOperationException");
    expect(standIn.calls).to.deep.equal({ Encrypt: 1, GenerateDataKey: 1 });
  });
});
