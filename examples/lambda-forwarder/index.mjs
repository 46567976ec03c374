// Amazon Connect "Invoke AWS Lambda function" block → connect-bot's join endpoint.
// Runtime: Node.js 20+. Environment: JOIN_URL (https://your-host/join), JOIN_SECRET, optional TIMEOUT_MS.
// Set the block's timeout to 8 s; the host answers once the bot is connected (within its join timeout, 6 s).
const url = process.env.JOIN_URL;
const secret = process.env.JOIN_SECRET;
const timeoutMs = Number(process.env.TIMEOUT_MS) || 7500; // unset, empty or not a number: 7.5 s

export const handler = async (event) => {
  const deadline = Date.now() + timeoutMs;
  const post = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify(event), // the ContactFlowEvent, unchanged
      signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
    });
  try {
    let response;
    try {
      response = await post();
    } catch (error) {
      if (error.name === 'TimeoutError') throw error;
      // The connection failed before an answer: most often one the host had closed while this container was
      // paused between invocations. Once more, on a new one; a join is idempotent per contact.
      response = await post();
    }
    // Not JSON, or not the host's (a load balancer's page): the status still says what happened.
    const body = await response.json().catch(() => ({}));
    const answered = typeof body.status === 'string';
    // The flow reads $.External.*: a flat map of strings.
    return {
      status: body.status === 'success' ? 'success' : 'error',
      participantId: body.participantId ?? '',
      code: answered ? (body.code ?? '') : `HTTP_${response.status}`,
    };
  } catch (error) {
    console.error('join forward failed', error.name);
    return { status: 'error', participantId: '', code: 'FORWARD_FAILED' };
  }
};
