// report sends command with client, then destroys the client, and prints
// how the call ended as one JSON line: {"call", "ok": true, "status"} or
// {"call", "ok": false, "name", "message", "status"}, the SDK's error's.
export async function report(call, client, command) {
  let line;
  try {
    const out = await client.send(command);
    line = { call, ok: true, status: out.$metadata.httpStatusCode };
  } catch (err) {
    line = { call, ok: false, name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  } finally {
    client.destroy();
  }
  console.log(JSON.stringify(line));
}
