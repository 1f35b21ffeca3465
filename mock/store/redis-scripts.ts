/**
 * The Lua scripts of the Redis store (docs/decisions.md "Shared state on Redis (issue 12), design"): one
 * per atomic method, each run with EVALSHA (ioredis `defineCommand`). Time always comes in as an
 * argument (the mock's clock), never from Redis's TIME: the mock's clock can be frozen or moved. Keys
 * all share the namespace's hash tag `{<prefix>:<seed>}`; `g` (the generation's key prefix) comes in as
 * an argument where a script reaches keys named by stored data.
 */

/**
 * Shared helpers, prepended to scripts that count or drop refresh tokens or drop a payment. Refresh token
 * families are counted for the global bound (`refreshTokensMax`, as `Store.addRefreshToken`): `rt-count`
 * holds the tokens of every family, `fam-info` each family's token count (`<fid>:n`) and account
 * (`<fid>:a`), `fam-order` the families in creation order (score: `fam-seq`), oldest first.
 */
const HELPERS = `
local function drop_family(g, fid)
  local fk = g .. 'fam:' .. fid
  local info = g .. 'fam-info'
  for _, t in ipairs(redis.call('LRANGE', fk, 0, -1)) do redis.call('DEL', g .. 'rt:' .. t) end
  redis.call('DEL', fk)
  local n = tonumber(redis.call('HGET', info, fid .. ':n') or '0')
  if n ~= 0 then redis.call('DECRBY', g .. 'rt-count', n) end
  local acct = redis.call('HGET', info, fid .. ':a')
  if acct then redis.call('LREM', g .. 'fams:' .. acct, 1, fid) end
  redis.call('HDEL', info, fid .. ':n', fid .. ':a')
  redis.call('ZREM', g .. 'fam-order', fid)
end
local function count_tokens(g, fid, by)
  redis.call('HINCRBY', g .. 'fam-info', fid .. ':n', by)
  redis.call('INCRBY', g .. 'rt-count', by)
end
local function bound_tokens(g, keep_fid, max)
  while tonumber(redis.call('GET', g .. 'rt-count') or '0') > max do
    local oldest = redis.call('ZRANGE', g .. 'fam-order', 0, 0)[1]
    if not oldest or oldest == keep_fid then break end
    drop_family(g, oldest)
  end
end
local function drop_payment(g, id, unlist_account)
  local pj = redis.call('GET', g .. 'pay:' .. id)
  redis.call('LREM', g .. 'pay-all', 1, id)
  if not pj then return end
  local p = cjson.decode(pj)
  local acct = string.format('%d', p.accountIndex)
  redis.call('DEL', g .. 'pay:' .. id, g .. 'pend:' .. id)
  redis.call('ZREM', g .. 'pending', id)
  if type(p.payment.utrn) == 'string' then redis.call('SREM', g .. 'utrns', p.payment.utrn) end
  if type(p.idempotencyKey) == 'string' then
    local ik = g .. 'idem:' .. p.idempotencyKey
    if redis.call('HGET', ik, 'paymentId') == id then redis.call('DEL', ik) end
  end
  if unlist_account then redis.call('LREM', g .. 'pays:' .. acct, 1, id) end
  redis.call('LREM', g .. 'pays:' .. acct .. ':' .. p.payment.deviceId, 1, id)
end
`;

/** A script: how many keys it takes and its Lua. */
export interface Script {
  numberOfKeys: number;
  lua: string;
}

/**
 * Per request, its one round trip before the handler: the generation, windows epoch and faults version
 * (KEYS[1] meta), then the generation's clock and earliest pending due time, '1' when `meta` exists (''
 * when the server lost its data: see RESTORE_META), then for each device in ARGV[2..] the balance overlay
 * the request will read (state JSON, changedAt, revision; '', '', '0' when none is stored). ARGV[1] the
 * namespace (`procode:{p:s}`).
 */
export const SNAPSHOT: Script = {
  numberOfKeys: 1,
  lua: `
local m = redis.call('HMGET', KEYS[1], 'generation', 'windowsEpoch', 'faultsVersion')
local gen = m[1] or '0'
local g = ARGV[1] .. ':g' .. gen .. ':'
local c = redis.call('HMGET', g .. 'clock', 'frozenAt', 'offsetMs')
local p = redis.call('ZRANGE', g .. 'pending', 0, 0, 'WITHSCORES')
local out = {gen, m[2] or '0', m[3] or '0', c[1] or '', c[2] or '', p[2] or '', m[1] and '1' or ''}
for i = 2, #ARGV do
  local b = redis.call('HMGET', g .. 'bal:' .. ARGV[i], 'state', 'changedAt', 'rev')
  out[#out + 1] = b[1] or ''
  out[#out + 1] = b[2] or ''
  out[#out + 1] = b[3] or '0'
end
return out
`,
};

/**
 * Journal entries, newest last in ARGV[2..] (JSON, redacted), pushed onto the head of KEYS[1] in one step
 * and the list cut to ARGV[1] entries (`--journal-size`): one command for every request answered in one
 * turn of a replica's event loop.
 */
export const JOURNAL_PUSH: Script = {
  numberOfKeys: 1,
  lua: `
redis.call('LPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
return 1
`,
};

/**
 * A server that lost its data (restarted without persistence, flushed) while replicas ran: the first
 * replica to notice writes \`meta\` again with a generation past the one it last saw (so the tokens of
 * the lost state are refused, as after a reset) and its token signing key (\`SET NX\`, so a replica
 * started later signs alike). KEYS meta, token-key; ARGV generation, accounts, format, token key ('' when
 * given by --token-secret). Idempotent: a second replica finds \`meta\` and changes nothing.
 */
export const RESTORE_META: Script = {
  numberOfKeys: 2,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'generation', ARGV[1], 'windowsEpoch', '0', 'faultsVersion', '0', 'accounts', ARGV[2], 'format', ARGV[3])
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4], 'NX') end
return 1
`,
};

/** Register: KEYS reg, reg-email; ARGV account index, lower-cased e-mail, registration JSON. 1 stored, 0 taken. */
export const REGISTER: Script = {
  numberOfKeys: 2,
  lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1
`,
};

/** Count a wrong password: KEYS the username's sorted set; ARGV window start, now, member, limit, TTL ms. */
export const LOGIN_COUNT: Script = {
  numberOfKeys: 1,
  lua: `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`,
};

/**
 * A sliding-window claim, the start of a script: KEYS[1] the window's sorted set; ARGV[1] window start,
 * ARGV[2] now, ARGV[3] a unique member, ARGV[4] limit, ARGV[5] TTL ms. With `limit` entries already in
 * the window it returns the oldest one's score (epoch ms) and the script ends there; else it adds this one.
 */
const WINDOW_CLAIM = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local o = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return o[2]
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
`;

/**
 * Claim a password attempt: KEYS failures; ARGV window start, now, member, limit, TTL. With `limit`
 * failures already in the window it counts nothing and returns the oldest one's score (epoch ms); else it
 * counts this one and returns 'ok'. One step, so attempts in flight together cannot all pass the check.
 */
export const LOGIN_CLAIM: Script = {
  numberOfKeys: 1,
  lua: `
${WINDOW_CLAIM}return 'ok'
`,
};

/** Take back one wrong password counted at ARGV[1] (epoch ms). */
export const LOGIN_FORGET: Script = {
  numberOfKeys: 1,
  lua: `
local m = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if m[1] then redis.call('ZREM', KEYS[1], m[1]) end
return 1
`,
};

/**
 * SendOTP: KEYS sends, challenge, outbox; ARGV window start, now, member, limit, sends TTL, account,
 * code hash, expiresAt, challenge TTL, outbox JSON, outbox limit. Returns 'ok' or the oldest send (ms).
 */
export const OTP_SEND: Script = {
  numberOfKeys: 3,
  lua: `
${WINDOW_CLAIM}redis.call('HSET', KEYS[2], 'account', ARGV[6], 'code', ARGV[7], 'expiresAt', ARGV[8], 'failed', 0, 'state', 'open')
redis.call('PEXPIRE', KEYS[2], ARGV[9])
redis.call('RPUSH', KEYS[3], ARGV[10])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[11]), -1)
return 'ok'
`,
};

/** VerifyOTP: KEYS challenge; ARGV account, code hash, now, max attempts. */
export const OTP_VERIFY: Script = {
  numberOfKeys: 1,
  lua: `
local c = redis.call('HMGET', KEYS[1], 'account', 'code', 'expiresAt', 'failed', 'state')
if not c[1] or c[1] ~= ARGV[1] then return {'not-found'} end
if c[5] ~= 'open' then return {c[5]} end
if tonumber(c[3]) <= tonumber(ARGV[3]) then return {'expired'} end
if c[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'state', 'used')
  return {'ok'}
end
local f = redis.call('HINCRBY', KEYS[1], 'failed', 1)
local left = tonumber(ARGV[4]) - f
if left <= 0 then redis.call('HSET', KEYS[1], 'state', 'voided') end
return {'wrong', left}
`,
};

/**
 * A gateway call against every limit or none: KEYS one hash per counter; ARGV now, then per limit
 * calls, period ms, aligned start ('' when none). Returns nil (counted) or {index, windowStart}.
 */
export const GATEWAY: Script = {
  numberOfKeys: -1,
  lua: `
local now = tonumber(ARGV[1])
local starts, counts = {}, {}
for i = 1, #KEYS do
  local calls = tonumber(ARGV[3 * i - 1])
  local period = tonumber(ARGV[3 * i])
  local aligned = ARGV[3 * i + 1]
  local s = redis.call('HMGET', KEYS[i], 'windowStart', 'calls')
  local ws = s[1] and tonumber(s[1])
  local c = tonumber(s[2] or '0')
  local start
  if aligned ~= '' then start = aligned elseif ws and now < ws + period then start = s[1] else start = ARGV[1] end
  if not s[1] or s[1] ~= start then c = 0 end
  starts[i] = start
  counts[i] = c
  if c >= calls then return {i - 1, start} end
end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'windowStart', starts[i], 'calls', counts[i] + 1)
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 * i]) + 3600000)
end
return nil
`,
};

/**
 * A refresh token as its family's live one: KEYS token, family, account's families; ARGV token hash,
 * account, scope, expiresAt, family, TTL ms, tokens kept per family, families per account, g, tokens in
 * all (`refreshTokensMax`). Then the bounds, as `Store.addRefreshToken`: the family's oldest tokens beyond
 * those kept, the account's oldest families beyond its bound, and the oldest families of every account
 * while the tokens in all are over theirs (never the new token's own family).
 */
export const REFRESH_ISSUE: Script = {
  numberOfKeys: 3,
  lua:
    HELPERS +
    `
local g = ARGV[9]
local fid = ARGV[5]
redis.call('HSET', KEYS[1], 'account', ARGV[2], 'scope', ARGV[3], 'expiresAt', ARGV[4], 'family', fid, 'retired', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
count_tokens(g, fid, 1)
while n > tonumber(ARGV[7]) do
  redis.call('DEL', g .. 'rt:' .. redis.call('LPOP', KEYS[2]))
  count_tokens(g, fid, -1)
  n = n - 1
end
if n == 1 then
  redis.call('HSET', g .. 'fam-info', fid .. ':a', ARGV[2])
  redis.call('ZADD', g .. 'fam-order', redis.call('INCR', g .. 'fam-seq'), fid)
  local m = redis.call('RPUSH', KEYS[3], fid)
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
  while m > tonumber(ARGV[8]) do
    drop_family(g, redis.call('LPOP', KEYS[3]))
    m = m - 1
  end
end
bound_tokens(g, fid, tonumber(ARGV[10]))
return 1
`,
};

/**
 * Use (and with ARGV[2], rotate) a refresh token: KEYS token; ARGV now, new token hash or '', TTL ms,
 * tokens kept per family, g, tokens in all (`refreshTokensMax`; a rotation applies it as a new login
 * does, never dropping its own family). Returns {'ok', account, scope, expiresAt, family}, {'unknown'} or
 * {'reused'}.
 */
export const REFRESH_USE: Script = {
  numberOfKeys: 1,
  lua:
    HELPERS +
    `
local g = ARGV[5]
local h = redis.call('HMGET', KEYS[1], 'account', 'scope', 'expiresAt', 'family', 'retired')
if not h[1] then return {'unknown'} end
if tonumber(h[3]) <= tonumber(ARGV[1]) then drop_family(g, h[4]) return {'unknown'} end
if h[5] == '1' then drop_family(g, h[4]) return {'reused'} end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'retired', '1')
  local nk = g .. 'rt:' .. ARGV[2]
  redis.call('HSET', nk, 'account', h[1], 'scope', h[2], 'expiresAt', h[3], 'family', h[4], 'retired', '0')
  redis.call('PEXPIRE', nk, ARGV[3])
  local fk = g .. 'fam:' .. h[4]
  local n = redis.call('RPUSH', fk, ARGV[2])
  count_tokens(g, h[4], 1)
  while n > tonumber(ARGV[4]) do
    redis.call('DEL', g .. 'rt:' .. redis.call('LPOP', fk))
    count_tokens(g, h[4], -1)
    n = n - 1
  end
  bound_tokens(g, h[4], tonumber(ARGV[6]))
end
return {'ok', h[1], h[2], h[3], h[4]}
`,
};

/**
 * Before a top-up whose decision on this process's guess of the balance threw (see `RedisStore.topUp`):
 * KEYS Idempotency-Key, balance; ARGV now, key lifetime ms, g. Returns {'replay', fingerprint, payment
 * JSON} or {'fresh', balance JSON, changedAt, revision}.
 */
export const TOPUP_READ: Script = {
  numberOfKeys: 2,
  lua: `
local i = redis.call('HMGET', KEYS[1], 'fingerprint', 'paymentId', 'createdAt')
if i[1] and tonumber(i[3]) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then
  local p = redis.call('GET', ARGV[3] .. 'pay:' .. i[2])
  if p then return {'replay', i[1], p} end
end
local b = redis.call('HMGET', KEYS[2], 'state', 'changedAt', 'rev')
return {'fresh', b[1] or '', b[2] or '', b[3] or '0'}
`,
};

/**
 * A top-up, all or nothing: claim the key (still free?), the balance's revision unchanged, the UTRN
 * unused, then write balance, payment, lists, key, pending entry, and drop the account's oldest beyond
 * its bound. KEYS idem, bal, pay, pays:<acct>, pays:<acct>:<dev>, utrns, pending, pend:<id>, pay-all,
 * bals; ARGV now, key lifetime ms, g, revision, balance JSON or '', changedAt, payment JSON, paymentId,
 * UTRN or '', fingerprint, dueAt or '', pending JSON, payments per account, deviceId, key TTL ms,
 * payments in all (`paymentsMax`: the oldest of any account dropped beyond it, as `Store.addPayment`).
 * Returns {'ok', the balance's new revision or ''}; {'replay', fingerprint, payment JSON} when the key
 * already stands for a payment;
 * {'conflict', balance JSON or '', changedAt or '', revision} when the balance is not at the revision
 * the decision was made from (so the caller decides again without reading first); or {'utrn'}.
 */
export const TOPUP_COMMIT: Script = {
  numberOfKeys: 10,
  lua:
    HELPERS +
    `
local g = ARGV[3]
local i = redis.call('HMGET', KEYS[1], 'createdAt', 'paymentId', 'fingerprint')
if i[1] and tonumber(i[1]) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then
  local p = redis.call('GET', g .. 'pay:' .. i[2])
  if p then return {'replay', i[3], p} end
end
if ARGV[5] ~= '' then
  local b = redis.call('HMGET', KEYS[2], 'state', 'changedAt', 'rev')
  if (b[3] or '0') ~= ARGV[4] then return {'conflict', b[1] or '', b[2] or '', b[3] or '0'} end
end
if ARGV[9] ~= '' and redis.call('SADD', KEYS[6], ARGV[9]) == 0 then return {'utrn'} end
local rev = ''
if ARGV[5] ~= '' then
  rev = 'r' .. redis.call('INCR', g .. 'rev-seq')
  redis.call('HSET', KEYS[2], 'state', ARGV[5], 'changedAt', ARGV[6], 'rev', rev)
  redis.call('SADD', KEYS[10], ARGV[14])
end
redis.call('SET', KEYS[3], ARGV[7])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[10], 'paymentId', ARGV[8], 'createdAt', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[15])
redis.call('RPUSH', KEYS[5], ARGV[8])
redis.call('RPUSH', KEYS[9], ARGV[8])
local n = redis.call('RPUSH', KEYS[4], ARGV[8])
if ARGV[11] ~= '' then
  redis.call('ZADD', KEYS[7], ARGV[11], ARGV[8])
  redis.call('SET', KEYS[8], ARGV[12])
end
while n > tonumber(ARGV[13]) do
  drop_payment(g, redis.call('LPOP', KEYS[4]), false)
  n = n - 1
end
local max = tonumber(ARGV[16])
while redis.call('LLEN', KEYS[9]) > max do
  drop_payment(g, redis.call('LINDEX', KEYS[9], 0), true)
end
return {'ok', rev}
`,
};

/** Before settling: KEYS pay, pend; ARGV g. Returns {payment JSON, pending JSON, balance JSON, changedAt, rev}. */
export const SETTLE_READ: Script = {
  numberOfKeys: 2,
  lua: `
local p = redis.call('GET', KEYS[1])
local d = redis.call('GET', KEYS[2])
if not p or not d then return {} end
local dev = cjson.decode(p).payment.deviceId
local b = redis.call('HMGET', ARGV[1] .. 'bal:' .. dev, 'state', 'changedAt', 'rev')
return {p, d, b[1] or '', b[2] or '', b[3] or '0'}
`,
};

/**
 * Settle one pending payment once: KEYS pending, pay, bal, utrns, pend, bals, rev-seq; ARGV id, revision,
 * balance JSON or '', changedAt, payment JSON, UTRN or '', deviceId. Returns {'ok', the balance's new
 * revision or ''}, {'gone'}, {'conflict'} or {'utrn'}.
 */
export const SETTLE_COMMIT: Script = {
  numberOfKeys: 7,
  lua: `
if ARGV[3] ~= '' and (redis.call('HGET', KEYS[3], 'rev') or '0') ~= ARGV[2] then return {'conflict'} end
if ARGV[6] ~= '' and redis.call('SISMEMBER', KEYS[4], ARGV[6]) == 1 then return {'utrn'} end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {'gone'} end
redis.call('DEL', KEYS[5])
if redis.call('EXISTS', KEYS[2]) == 0 then return {'gone'} end
if ARGV[6] ~= '' then redis.call('SADD', KEYS[4], ARGV[6]) end
local rev = ''
if ARGV[3] ~= '' then
  rev = 'r' .. redis.call('INCR', KEYS[7])
  redis.call('HSET', KEYS[3], 'state', ARGV[3], 'changedAt', ARGV[4], 'rev', rev)
  redis.call('SADD', KEYS[6], ARGV[7])
end
redis.call('SET', KEYS[2], ARGV[5])
return {'ok', rev}
`,
};

/** A page of payment ids, newest first: KEYS the list; ARGV offset, limit, g. Returns {total, JSON...}. */
export const PAGE: Script = {
  numberOfKeys: 1,
  lua: `
local total = redis.call('LLEN', KEYS[1])
local hi = total - 1 - tonumber(ARGV[1])
local lo = math.max(0, hi - tonumber(ARGV[2]) + 1)
local out = {total}
if hi < 0 then return out end
local ids = redis.call('LRANGE', KEYS[1], lo, hi)
for j = #ids, 1, -1 do
  local p = redis.call('GET', ARGV[3] .. 'pay:' .. ids[j])
  if p then out[#out + 1] = p end
end
return out
`,
};

/** Count a fault rule's call: KEYS counts; ARGV faultId, '1' when it has `times`. 1 claimed, 0 spent. */
export const FAULT_CLAIM: Script = {
  numberOfKeys: 1,
  lua: `
if ARGV[2] == '1' then
  local r = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':remaining') or '0')
  if r <= 0 then return 0 end
  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':remaining', -1)
end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':matched', 1)
return 1
`,
};

/** Every script by the command name it is defined under. */
export const SCRIPTS = {
  procodeSnapshot: SNAPSHOT,
  procodeJournalPush: JOURNAL_PUSH,
  procodeRestoreMeta: RESTORE_META,
  procodeRegister: REGISTER,
  procodeLoginCount: LOGIN_COUNT,
  procodeLoginForget: LOGIN_FORGET,
  procodeLoginClaim: LOGIN_CLAIM,
  procodeOtpSend: OTP_SEND,
  procodeOtpVerify: OTP_VERIFY,
  procodeGateway: GATEWAY,
  procodeRefreshIssue: REFRESH_ISSUE,
  procodeRefreshUse: REFRESH_USE,
  procodeTopUpRead: TOPUP_READ,
  procodeTopUpCommit: TOPUP_COMMIT,
  procodeSettleRead: SETTLE_READ,
  procodeSettleCommit: SETTLE_COMMIT,
  procodePage: PAGE,
  procodeFaultClaim: FAULT_CLAIM,
} as const;

/** The name of a script command. */
export type ScriptName = keyof typeof SCRIPTS;
