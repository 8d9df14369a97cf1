/** Free sampling from the policy, for the sample panels (ranking tasks sample in rankingFlow.ts). */
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import { sample } from '../model/sampler';
import type { SampleRequest, SampleView } from '../types';

export async function samplePolicy(model: GPT, tokenizer: Tokenizer, request: SampleRequest): Promise<SampleView[]> {
  // An empty prompt samples a fresh document: the model sees the end-of-text token that separates documents.
  const prompts = request.prompts ?? new Array<string>(request.count ?? 3).fill('');
  const encoded = prompts.map((p) => (p ? tokenizer.encode(p) : [tokenizer.eosId]).slice(-(model.config.blockSize - 8)));
  const maxNewTokens = Math.min(request.maxNewTokens ?? 64, model.config.blockSize - Math.max(...encoded.map((e) => e.length)));
  const { completions } = await sample(model, encoded, {
    maxNewTokens,
    temperature: request.temperature ?? 1,
    topK: request.topK ?? 0,
    seed: request.seed ?? 1,
    eosId: tokenizer.eosId,
  });
  return prompts.map((prompt, i) => ({ prompt, completion: tokenizer.decode(completions[i]) }));
}
