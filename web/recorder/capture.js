// Devices: opens the camera + microphone and the screen (with tab/system audio when the
// candidate grants it), turns the browser's DOMExceptions into the recorder's named errors, and
// watches open tracks for loss (unplugged, switched off, permission revoked).
import {
  DeviceInUseError, DeviceLostError, DeviceNotFoundError, PermissionDeniedError,
  PermissionRevokedError, RecorderError, ScreenShareDeniedError, ScreenShareEndedError,
  UnsupportedBrowserError,
} from './errors.js';

// `tracks`: {camera, microphone}; `video`: {width, height, fps} wished for (the camera may
// deliver another size; the encoder is configured from what it delivers).
export async function openCamera(tracks, video) {
  const device = deviceName(tracks);
  if (!navigator.mediaDevices?.getUserMedia) throw new UnsupportedBrowserError('getUserMedia');
  try {
    return await navigator.mediaDevices.getUserMedia({
      video: tracks.camera ? {
        width: { ideal: video.width }, height: { ideal: video.height }, frameRate: { ideal: video.fps },
      } : false,
      audio: tracks.microphone ? { channelCount: 1, echoCancellation: true, noiseSuppression: true } : false,
    });
  } catch (err) {
    throw mediaError(err, device);
  }
}

export async function openScreen(video) {
  if (!navigator.mediaDevices?.getDisplayMedia) throw new UnsupportedBrowserError('getDisplayMedia');
  try {
    return await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: video.fps }, width: { max: video.width }, height: { max: video.height } },
      // Tab or system audio; the candidate may decline it and share video only. It is what the
      // tab plays, not a microphone: echo cancellation and noise suppression would eat music or
      // a steady tone, and automatic gain would pump.
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    if (err?.name === 'NotAllowedError') throw new ScreenShareDeniedError(err);
    throw mediaError(err, 'screen');
  }
}

function mediaError(err, device) {
  if (err instanceof RecorderError) return err;
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new PermissionDeniedError(device, err);
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new DeviceNotFoundError(device, err);
    case 'NotReadableError':
    case 'AbortError':
      return new DeviceInUseError(device, err);
    default:
      return new UnsupportedBrowserError(`${err?.name}: ${err?.message}`);
  }
}

export function deviceName({ camera, microphone }) {
  if (camera && microphone) return 'camera and microphone';
  return camera ? 'camera' : 'microphone';
}

// Calls onLost(error) once when any track of `stream` ends or its permission is revoked.
// A track stopped by a script fires no 'ended' event, so readyState is also polled.
// Returns a function that stops watching.
export function watchStream(stream, device, onLost) {
  let reported = false;
  const report = (err) => {
    if (reported) return;
    reported = true;
    stop();
    onLost(err);
  };
  // A revoked permission also ends the tracks, and the 'ended' event may come before the
  // permission's 'change': an ended camera or microphone track is blamed on the device only if its
  // permission is still granted.
  const check = async () => {
    const ended = stream.getTracks().find((t) => t.readyState === 'ended');
    if (!ended || reported) return;
    if (device === 'screen') return report(new ScreenShareEndedError());
    const name = trackName(ended);
    const state = await navigator.permissions?.query({ name }).then((s) => s.state, () => null);
    report(state === 'denied' ? new PermissionRevokedError(name) : new DeviceLostError(name));
  };
  const tracks = stream.getTracks();
  tracks.forEach((t) => t.addEventListener('ended', check));
  const timer = setInterval(check, 1000);
  const permissions = [];
  for (const [name, kind] of /** @type {const} */ ([['camera', 'video'], ['microphone', 'audio']])) {
    if (device === 'screen' || !tracks.some((t) => t.kind === kind)) continue;
    navigator.permissions?.query({ name }).then((status) => {
      const onChange = () => {
        if (status.state === 'denied') report(new PermissionRevokedError(name));
      };
      status.addEventListener('change', onChange);
      permissions.push(() => status.removeEventListener('change', onChange));
    }).catch(() => {});  // browsers that cannot query a permission still get the track checks
  }
  function stop() {
    clearInterval(timer);
    tracks.forEach((t) => t.removeEventListener('ended', check));
    permissions.forEach((remove) => remove());
  }
  return stop;
}

function trackName(track) {
  return track.kind === 'video' ? 'camera' : 'microphone';
}

export function stopStream(stream) {
  stream?.getTracks().forEach((t) => t.stop());
}
