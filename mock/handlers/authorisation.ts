import type { HandlerEntry } from './context';
import type { Handler } from './context';
import { callerOf, json } from './context';
import { customerView, subjectOf } from './customers';
import { SCOPE_CUSTOMER } from '../auth/tokens';
import { TOKEN_HEADERS } from './auth';

/** SendOTP: a challenge to the customer's mobile (sms) or e-mail; the code goes to the dev outbox only. */
const sendOtp: Handler = async (ctx) => {
  const caller = callerOf(ctx);
  const { channel } = ctx.body as { channel: 'sms' | 'email' };
  const customer = await customerView(ctx.services, caller.accountIndex);
  const to = channel === 'sms' ? customer.mobilePhone : customer.email;
  return json(202, await ctx.services.otp.send(caller.accountIndex, channel, to));
};

/** VerifyOTP: a right code swaps the `otp`-scope token for a full (`customer`) one. */
const verifyOtp: Handler = async (ctx) => {
  const caller = callerOf(ctx);
  const { otpId, code } = ctx.body as { otpId: string; code: string };
  await ctx.services.otp.verify(caller.accountIndex, otpId, code);
  const subject = (await subjectOf(ctx.services, caller.accountIndex))!;
  return json(200, await ctx.services.tokens.issue(subject, SCOPE_CUSTOMER), TOKEN_HEADERS);
};

export const AUTHORISATION_HANDLERS: Record<string, HandlerEntry> = {
  SendOTP: { handle: sendOtp },
  VerifyOTP: { handle: verifyOtp },
};
