import { socketCloses } from '../../soak/socket-closes.js';

test("the pods' socket closes, by socket; a line cut by a SIGKILL is passed over, not thrown on", () => {
  const closes = socketCloses([
    '{"level":"log","timestamp":10,"message":{"msg":"viewer disconnected","socketId":"v1"}}',
    '{"level":"log","timestamp":20,"message":{"msg":"streamer disconnected","socketId":"s1"}}',
    '{"level":"log","timestamp":30,"message":{"msg":"viewer disconnected","socketId":"v1"}}',
    // The pod died writing this one.
    '{"level":"log","timestamp":40,"message":{"msg":"streamer disconnected","socketId":"s2","pod":"po',
    '{"level":"log","timestamp":50,"message":{"msg":"streamer connected","socketId":"s3"}}',
    'not a log line',
  ]);
  expect(closes.viewers).toEqual(new Map([['v1', [10, 30]]]));
  expect(closes.streamers).toEqual(new Map([['s1', 20]]));
});
