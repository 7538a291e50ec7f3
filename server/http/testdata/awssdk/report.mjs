// outcome sends command with client and returns how the call ended:
// {"call", "ok": true, "status"} or {"call", "ok": false, "name",
// "message", "status"}, the SDK's error's.
export async function outcome(call, client, command) {
  try {
    const out = await client.send(command);
    return { call, ok: true, status: out.$metadata.httpStatusCode };
  } catch (err) {
    return { call, ok: false, name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
}

// report sends command with client, then destroys the client, and prints
// the call's outcome as one JSON line.
export async function report(call, client, command) {
  let line;
  try {
    line = await outcome(call, client, command);
  } finally {
    client.destroy();
  }
  console.log(JSON.stringify(line));
}
