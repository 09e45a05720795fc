"""Real-looking project names for the long tail of a synthetic catalogue."""

from __future__ import annotations

import numpy as np

WELL_KNOWN = """
RPi.GPIO gpiozero picamera smbus2 spidev Adafruit-DHT adafruit-blinka pyserial paho-mqtt
requests urllib3 certifi chardet idna six setuptools wheel Pillow scipy pandas matplotlib
kiwisolver cycler pyparsing python-dateutil pytz tzlocal Jinja2 MarkupSafe Werkzeug
itsdangerous click Flask Flask-SocketIO Flask-Cors Flask-WTF WTForms Flask-Babel Babel
tornado pyzmq psutil netifaces regex simplejson ujson lxml bcrypt PyNaCl cryptography
pyOpenSSL pycrypto pycryptodome pycryptodomex gevent greenlet zope.interface zope.event
zope.deprecation zope.hookable zope.proxy zope.security zope.schema zope.i18nmessageid
frozendict sarge netaddr pkginfo rsa pyasn1 pyasn1-modules cachetools google-auth protobuf
grpcio h5py Keras-Applications Keras-Preprocessing tensorflow absl-py astor gast termcolor
Markdown wrapt mock funcsigs pbr future futures enum34 ipaddress backports.ssl-match-hostname
singledispatch backports-abc configparser monotonic scandir pathlib2 typing websocket-client
websockets aiohttp multidict yarl async-timeout attrs aiofiles uvloop httptools sanic
ruamel.yaml ruamel.yaml.clib PyJWT oauthlib requests-oauthlib blinker feedparser sgmllib3k
evdev pynput pygame pyusb pyudev dbus-python PyGObject pycairo bluepy pybluez bleak
luma.oled luma.core luma.lcd RPLCD Adafruit-GPIO Adafruit-PureIO Adafruit-SSD1306
adafruit-circuitpython-busdevice adafruit-circuitpython-dht adafruit-circuitpython-bme280
adafruit-circuitpython-neopixel rpi-ws281x pigpio wiringpi w1thermsensor bme280 sense-hat
RTIMULib homeassistant home-assistant-frontend voluptuous PyNaCl sqlalchemy SQLAlchemy
alembic psycopg2 psycopg2-binary mysqlclient PyMySQL redis pymongo influxdb peewee
numexpr numba llvmlite scikit-learn joblib threadpoolctl scikit-image imageio networkx
PyWavelets dlib face-recognition opencv-contrib-python imutils tflite-runtime pyaudio
SpeechRecognition gTTS pyttsx3 vlc python-vlc mutagen pydub soundfile sounddevice
pyinotify watchdog schedule APScheduler croniter python-crontab docopt colorama tqdm
tabulate prettytable PyYAML toml pytoml msgpack msgpack-python cbor2 lz4 zstandard
brotli brotlipy python-snappy mmh3 xxhash cython Cython cffi pycparser numpy
twisted Twisted autobahn txaio hyperlink constantly incremental Automat service-identity
pyserial-asyncio pymodbus minimalmodbus can python-can cantools bitstring crcmod
pexpect ptyprocess sh plumbum fabric paramiko invoke scp pysnmp pysmi ply
docker docker-compose dockerpty texttable jsonschema pyrsistent importlib-metadata zipp
more-itertools packaging pip-tools virtualenv pipenv black flake8 pycodestyle pyflakes
mccabe pylint astroid isort lazy-object-proxy pytest pluggy py coverage nose tox
sphinx docutils Pygments alabaster snowballstemmer imagesize sphinxcontrib-websupport
jupyter notebook ipython ipykernel jupyter-client jupyter-core traitlets decorator
pickleshare prompt-toolkit wcwidth parso jedi backcall pexpect nbformat nbconvert
mistune bleach webencodings pandocfilters testpath entrypoints defusedxml terminado
Send2Trash prometheus-client ipywidgets widgetsnbextension qtconsole pyzmq argon2-cffi
""".split()

_WORDS = """
sensor motor servo relay camera display lcd oled led matrix strip pixel button switch
gpio serial modbus mqtt zigbee bluetooth wifi radio lora gps compass gyro accel thermo
humidity pressure light sound audio voice speech vision image video stream frame
weather clock timer scheduler logger monitor meter counter gauge chart plot graph
robot rover drone arm gripper wheel track line maze laser sonar lidar radar beacon
home garden plant water pump valve door lock alarm bell sprinkler fan heater cooler
solar battery power charge volt current energy grid panel inverter tracker
config loader parser writer reader formatter encoder decoder codec cipher hash token
client server proxy router gateway bridge broker queue cache store bucket registry
""".split()
_PREFIXES = ("py", "python-", "rpi-", "pi", "django-", "flask-", "pytest-", "adafruit-circuitpython-",
             "sphinx-", "aio", "micro", "open", "simple-", "easy", "smart", "tiny")
_SUFFIXES = ("", "", "", "lib", "-tools", "-utils", "-client", "-api", "py", "-driver", "-hat", "2", "-ng")


def tail_names(count: int, rng: np.random.Generator, exclude: set[str]) -> list[str]:
    """``count`` distinct project names: well-known ones first, then composed ones."""
    from packaging.utils import canonicalize_name

    taken = {canonicalize_name(name) for name in exclude}
    names: list[str] = []

    def take(name: str) -> None:
        key = canonicalize_name(name)
        if key not in taken:
            taken.add(key)
            names.append(name)

    for name in WELL_KNOWN:
        if len(names) >= count:
            return names
        take(name)
    while len(names) < count:
        prefix = _PREFIXES[rng.integers(len(_PREFIXES))]
        word = _WORDS[rng.integers(len(_WORDS))]
        if rng.random() < 0.3:
            word += "-" + _WORDS[rng.integers(len(_WORDS))]
        suffix = _SUFFIXES[rng.integers(len(_SUFFIXES))]
        take(prefix + word + suffix)
    return names
